// The cost of an exchange: which price a model id finds, the two APIs' ways of counting cached input, and the
// assembler writing cost_usd into the record (and counting models it cannot price).
@testable import ExchangeLog
import Foundation
import LogRing
import Synchronization
import Testing

private let sonnet45 = ModelPrice(input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.30)
private let sonnet4 = ModelPrice(input: 3.5, output: 16, cacheWrite: 4, cacheRead: 0.35)  // made different on purpose
private let gpt4o = ModelPrice(input: 2.50, output: 10, cacheWrite: 2.50, cacheRead: 1.25)
private let gpt4oMini = ModelPrice(input: 0.15, output: 0.60, cacheWrite: 0.15, cacheRead: 0.075)
private let o3 = ModelPrice(input: 2, output: 8, cacheWrite: 2, cacheRead: 0.50)
private let o3Mini = ModelPrice(input: 1.10, output: 4.40, cacheWrite: 1.10, cacheRead: 0.55)

private let table = PriceTable(["claude-sonnet-4-5": sonnet45, "claude-sonnet-4": sonnet4, "gpt-4o": gpt4o,
                                "gpt-4o-mini": gpt4oMini, "o3": o3, "o3-mini": o3Mini])

// MARK: Lookup

@Test(arguments: [
    ("claude-sonnet-4-5", sonnet45), ("gpt-4o", gpt4o), ("o3", o3),  // exact
    ("claude-sonnet-4-5-20250929", sonnet45),  // not claude-sonnet-4, also a prefix of it
    ("claude-sonnet-4-20250514", sonnet4),
    ("gpt-4o-mini-2024-07-18", gpt4oMini),  // not gpt-4o
    ("gpt-4o-2024-08-06", gpt4o),
    ("o3-mini-2025-01-31", o3Mini),  // not o3
    ("o3-2025-04-16", o3),
])
func aModelFindsItsExactIdOrTheLongestPrefix(_ model: String, _ price: ModelPrice) {
    #expect(table.price(for: model) == price)
}

@Test func anExactIdWinsOverAPrefix() {
    var dated = table
    let special = ModelPrice(input: 1, output: 2, cacheWrite: 3, cacheRead: 4)
    dated.models["gpt-4o-2024-05-13"] = special
    #expect(dated.price(for: "gpt-4o-2024-05-13") == special)
    #expect(dated.price(for: "gpt-4o-2024-08-06") == gpt4o)
}

@Test(arguments: ["gemini-2.5-pro", "claude-sonnet", "gpt-4", "o1", "", "GPT-4O"])
func anUnknownModelHasNoPrice(_ model: String) {
    #expect(table.price(for: model) == nil)
    #expect(table.cost(of: Usage(model: model, inputTokens: 10, outputTokens: 10)) == nil)
}

// MARK: Arithmetic

@Test func anthropicCountsCacheTokensApartFromInput() {
    // input_tokens excludes the cache: 472 × 3 + 1200 × 3.75 + 8000 × 0.30 + 89 × 15
    //   = 1416 + 4500 + 2400 + 1335 = 9651 USD per million → 0.009651
    let usage = Usage(model: "claude-sonnet-4-5-20250929", inputTokens: 472, outputTokens: 89,
                      cacheReadInputTokens: 8000, cacheCreationInputTokens: 1200, stopReason: "end_turn")
    #expect(table.cost(of: usage) == 0.009651)
}

@Test func openAICountsCachedTokensInsidePromptTokens() {
    // prompt_tokens 1200 includes cached_tokens 1024: (1200 − 1024) × 2.50 + 1024 × 1.25 + 7 × 10
    //   = 440 + 1280 + 70 = 1790 per million → 0.00179 (counting the cached twice would give 0.00435)
    var usage = Usage(model: "gpt-4o-2024-08-06", inputTokens: 1200, outputTokens: 7, cacheReadInputTokens: 1024,
                      stopReason: "stop", inputIncludesCacheRead: true)
    #expect(table.cost(of: usage) == 0.00179)
    usage.inputIncludesCacheRead = false
    #expect(table.cost(of: usage) == 0.00435)
}

@Test func theConventionComesFromTheAnswer() throws {
    // Read from a real-shaped OpenAI answer rather than set by hand: the same 0.00179.
    let body = #"{"object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":1024}}}"#
    #expect(table.cost(of: JSONBodyUsage.usage(Array(body.utf8))) == 0.00179)
}

@Test func missingCountsAreZero() {
    // A stream cut after message_start: 120 × 3 + 1 × 15 = 375 per million.
    #expect(table.cost(of: Usage(model: "claude-sonnet-4-5", inputTokens: 120, outputTokens: 1)) == 0.000375)
    // More cached than prompt tokens (a broken report) costs no negative input: 5 × 1.25 = 6.25 per million.
    #expect(table.cost(of: Usage(model: "gpt-4o", inputTokens: 3, cacheReadInputTokens: 5, inputIncludesCacheRead: true))
            == 0.00000625)
}

@Test func noModelOrNoCountsIsNoCost() {
    #expect(table.cost(of: Usage(inputTokens: 10, outputTokens: 10)) == nil)
    // An OpenAI stream without include_usage names the model and nothing else: unknown, not free.
    #expect(table.cost(of: Usage(model: "gpt-4o", stopReason: "stop")) == nil)
    #expect(PriceTable().cost(of: Usage(model: "gpt-4o", inputTokens: 1)) == nil)
}

@Test func costIsRoundedToANanoDollar() {
    // 1 token at 0.0123456789 per million = 1.23456789e-8 USD → 1.2e-8.
    let tiny = PriceTable(["m": ModelPrice(input: 0.0123456789, output: 0, cacheWrite: 0, cacheRead: 0)])
    #expect(tiny.cost(of: Usage(model: "m", inputTokens: 1)) == 1.2e-8)
}

// MARK: In the record

/// One exchange through the assembler, as the loop would have written it to the ring.
private func assemble(_ assembler: RecordAssembler, contentType: String, body: String, exchange: UInt64 = 1) throws -> String {
    func apply(_ kind: LogRecordKind, _ payload: [UInt8]) -> [UInt8]? {
        payload.withUnsafeBytes { assembler.apply(LogRecord(kind: kind, exchange: exchange, payload: $0)) }
    }
    func bytes(_ text: String, _ write: (UnsafeRawBufferPointer, inout [UInt8]) -> Void, into out: inout [UInt8]) {
        Array(text.utf8).withUnsafeBytes { write($0, &out) }
    }
    var start: [UInt8] = []
    LogPayload.appendClocks(wallMicros: 1_764_000_000_000_000, monotonicNanos: 1_000, into: &start)
    bytes("127.0.0.1:5000", { LogPayload.appendLine($0, into: &$1) }, into: &start)
    bytes("http://up", { LogPayload.appendLine($0, into: &$1) }, into: &start)
    Array("POST".utf8).withUnsafeBytes { method in
        Array("/v1/messages".utf8).withUnsafeBytes { target in
            LogPayload.appendRequestLine(method: method, target: target, versionMajor: 1, versionMinor: 1, into: &start)
        }
    }
    var head: [UInt8] = []
    bytes("OK", { LogPayload.appendStatusLine(200, reason: $0, into: &$1) }, into: &head)
    Array("Content-Type".utf8).withUnsafeBytes { name in
        Array(contentType.utf8).withUnsafeBytes { LogPayload.appendField(name: name, value: $0, into: &head) }
    }
    var fragment = withUnsafeBytes(of: LogPayload.bodyStamp(2_000)) { Array($0) }
    fragment += Array(body.utf8)
    var end: [UInt8] = []
    var figures = LogPayload.EndFigures()
    figures.set(.totalNanos, 5_000)
    figures.append(into: &end)
    LogPayload.appendEntry(.outcome, "complete", into: &end)
    #expect(apply(.start, start) == nil)
    #expect(apply(.responseHead, head) == nil)
    #expect(apply(.responseBody, fragment) == nil)
    let line = try #require(apply(.end, end))
    return String(decoding: line, as: UTF8.self)
}

private func object(_ line: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
}

private func newAssembler(_ metrics: LoggerMetrics? = nil) -> RecordAssembler {
    RecordAssembler(bodyMax: 1 << 20, fingerprint: Fingerprint(key: Array("k".utf8)), instance: 1, metrics: metrics, prices: table)
}

@Test func theRecordCarriesCostAfterUsage() throws {
    let stream = """
        event: message_start
        data: {"type":"message_start","message":{"model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":472,"cache_creation_input_tokens":1200,"cache_read_input_tokens":8000,"output_tokens":1}}}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":89}}


        """
    let line = try assemble(newAssembler(), contentType: "text/event-stream", body: stream)
    #expect(try object(line)["cost_usd"] as? Double == 0.009651)
    // Right after the usage object, before the SSE summary.
    #expect(line.contains(#""stop_reason":"end_turn"},"cost_usd":0.009651,"sse":{"#))
}

@Test func aWholeOpenAIAnswerIsPricedOnce() throws {
    let body = #"{"object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1200,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":1024}}}"#
    let line = try assemble(newAssembler(), contentType: "application/json", body: body)
    #expect(try object(line)["cost_usd"] as? Double == 0.00179)
}

@Test func noUsageOrAnUnknownModelIsNullAndOnlyTheUnknownModelIsCounted() throws {
    let metrics = LoggerMetrics()
    let assembler = newAssembler(metrics)
    let plain = try assemble(assembler, contentType: "text/plain", body: "status 404\n", exchange: 1)
    #expect(try object(plain)["usage"] == nil)
    #expect(plain.contains(#""error":null,"cost_usd":null}"#))
    #expect(metrics.costUnknownModel.load(ordering: .relaxed) == 0)

    let unknown = #"{"type":"message","model":"claude-future-9","usage":{"input_tokens":10,"output_tokens":2}}"#
    let line = try assemble(assembler, contentType: "application/json", body: unknown, exchange: 2)
    let record = try object(line)
    #expect((record["usage"] as? [String: Any])?["model"] as? String == "claude-future-9")
    #expect(record["cost_usd"] is NSNull)
    #expect(metrics.costUnknownModel.load(ordering: .relaxed) == 1)

    // A model named without token counts is not "unknown": there is nothing to price.
    let noCounts = #"{"object":"chat.completion","model":"gpt-x","choices":[]}"#
    _ = try assemble(assembler, contentType: "application/json", body: noCounts, exchange: 3)
    #expect(metrics.costUnknownModel.load(ordering: .relaxed) == 1)
}
