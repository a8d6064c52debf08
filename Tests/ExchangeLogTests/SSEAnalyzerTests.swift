// SSE analysis of realistic Anthropic and OpenAI streams, fed whole, split at every byte offset and byte by
// byte: what the log records must not depend on how TCP cut the body.
import ExchangeLog
import Foundation
import Testing

/// What an analysis produced, comparable in one #expect.
struct Outcome: Equatable, CustomStringConvertible {
    var events: Int
    var text: String
    var usage: Usage

    var description: String { "events \(events), text \(text.debugDescription), \(usage)" }
}

/// Feeds `input` in pieces cut at `cuts` (ascending offsets), then finishes.
func analyze(_ input: [UInt8], cuts: [Int] = []) -> Outcome {
    var analyzer = SSEAnalyzer()
    var start = 0
    for cut in cuts + [input.count] {
        input[start..<cut].withUnsafeBytes { analyzer.feed($0) }
        start = cut
    }
    analyzer.finish()
    return Outcome(events: analyzer.events, text: analyzer.text, usage: analyzer.usage)
}

/// Every two-piece split and the byte-by-byte feed give `expected`.
func expectSplitInvariant(_ input: [UInt8], _ expected: Outcome, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(analyze(input) == expected, sourceLocation: sourceLocation)
    var mismatches: [Int] = []
    for offset in 0...input.count where analyze(input, cuts: [offset]) != expected { mismatches.append(offset) }
    #expect(mismatches.isEmpty, "differs when split at \(mismatches.prefix(10))", sourceLocation: sourceLocation)
    #expect(analyze(input, cuts: Array(0...input.count)) == expected, "byte by byte", sourceLocation: sourceLocation)
}

// MARK: Anthropic Messages

/// A streamed answer with text and a tool call, as the Messages API sends it (prompt caching on).
let anthropicStream = #"""
event: message_start
data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":1200,"cache_read_input_tokens":8000,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", wörld — \"quoted\" ☃\n"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"is\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}


"""#

let anthropicExpected = Outcome(
    events: 13, text: "Hello, wörld — \"quoted\" ☃\n{\"city\": \"Paris\"}",
    usage: Usage(model: "claude-sonnet-4-5-20250929", inputTokens: 472, outputTokens: 89,
                 cacheReadInputTokens: 8000, cacheCreationInputTokens: 1200, stopReason: "tool_use"))

@Test func anthropicStreamSplitAnywhere() {
    expectSplitInvariant(Array(anthropicStream.utf8), anthropicExpected)
}

@Test func anthropicStreamWithCRLF() {
    expectSplitInvariant(Array(anthropicStream.replacing("\n", with: "\r\n").utf8), anthropicExpected)
}

@Test func anthropicStreamWithBareCR() {
    // A CR ending one piece and a CR opening the next are two line ends, unlike CR|LF.
    expectSplitInvariant(Array(anthropicStream.replacing("\n", with: "\r").utf8), anthropicExpected)
}

@Test func commentLinesAreNotEvents() {
    // Comments between events, inside an event, a comment-only block and an empty comment.
    let withComments = ": stream opened\n\n" + anthropicStream
        .replacing("event: ping\n", with: ":\nevent: ping\n: keep-alive\n")
        .replacing("event: message_stop\n", with: ": almost done\n\nevent: message_stop\n")
    expectSplitInvariant(Array(withComments.utf8), anthropicExpected)
}

@Test func newerAPIVersionsRepeatUsageInMessageDelta() {
    // Cumulative usage in message_delta (server tools, newer versions): the latest non-null count wins, and a
    // null there does not erase what message_start said.
    let stream = anthropicStream.replacing(
        #""usage":{"output_tokens":89}"#,
        with: #""usage":{"input_tokens":500,"cache_creation_input_tokens":null,"cache_read_input_tokens":8100,"output_tokens":90}"#)
    var expected = anthropicExpected
    expected.usage.inputTokens = 500
    expected.usage.cacheReadInputTokens = 8100
    expected.usage.outputTokens = 90
    #expect(analyze(Array(stream.utf8)) == expected)
}

/// `stream` cut 5 bytes into message_delta's JSON.
func cutInsideMessageDelta(_ stream: String) throws -> [UInt8] {
    let bytes = Array(stream.utf8)
    let range = try #require(bytes.firstRange(of: Array(#"{"type":"message_delta""#.utf8)))
    return Array(bytes[..<(range.lowerBound + 5)])
}

@Test func cutMidEventKeepsWhatCameBefore() throws {
    // The cut-off message_delta is dropped, everything before it kept.
    let cut = try cutInsideMessageDelta(anthropicStream)
    var expected = anthropicExpected
    expected.events = 11
    expected.usage.stopReason = nil
    expected.usage.outputTokens = 1  // message_start's own count; message_delta's 89 never arrived
    #expect(analyze(cut) == expected)
    #expect(analyze(cut, cuts: Array(0...cut.count)) == expected)

    // Without output_tokens in message_start, output tokens stay unknown.
    let noStartOutput = try cutInsideMessageDelta(anthropicStream.replacing(#","output_tokens":1}"#, with: "}"))
    expected.usage.outputTokens = nil
    #expect(analyze(noStartOutput) == expected)
}

@Test func cutAfterTheLastDataLineStillCountsACompleteEvent() {
    // The final blank line (or even the final LF) lost: message_stop's data is complete JSON, so it counts.
    #expect(anthropicStream.hasSuffix("{\"type\":\"message_stop\"}\n\n"))
    #expect(analyze(Array(anthropicStream.dropLast(1).utf8)) == anthropicExpected)
    #expect(analyze(Array(anthropicStream.dropLast(2).utf8)) == anthropicExpected)
    // Cut inside that data line: dropped.
    var expected = anthropicExpected
    expected.events = 12
    #expect(analyze(Array(anthropicStream.dropLast(3).utf8)) == expected)
}

@Test func everyPrefixIsAnalysable() {
    // A stream may end anywhere; the counts only grow with the prefix and never exceed the whole.
    let full = Array(anthropicStream.utf8)
    var previous = 0
    for length in 0...full.count {
        let outcome = analyze(Array(full[..<length]))
        #expect(outcome.events >= previous && outcome.events <= anthropicExpected.events)
        previous = outcome.events
    }
    #expect(previous == anthropicExpected.events)
}

@Test func malformedEventDoesNotStopTheAnalysis() {
    let stream = anthropicStream.replacing(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}",
        with: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",,\n\n" +
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}")
    var expected = anthropicExpected
    expected.events += 1
    expectSplitInvariant(Array(stream.utf8), expected)
}

@Test func multipleDataLinesJoinWithNewline() {
    // JSON across two data lines (allowed by SSE, LF is JSON whitespace); the space after the colon is optional.
    let stream = "event: message_start\ndata:{\"type\":\"message_start\",\ndata: \"message\":{\"model\":\"m\",\"usage\":{\"input_tokens\":3}}}\n\n" +
        "data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"  two spaces\"}}\n\n"
    let expected = Outcome(events: 2, text: "  two spaces", usage: Usage(model: "m", inputTokens: 3))
    expectSplitInvariant(Array(stream.utf8), expected)
    // With CRLF, a piece ending in CR and the next opening with LF is one line end, not a blank line that
    // would dispatch half an event.
    expectSplitInvariant(Array(stream.replacing("\n", with: "\r\n").utf8), expected)
}

@Test func blocksWithoutDataAreNotEvents() {
    // By the spec a block of only `event:`/`id:`/`retry:` lines dispatches nothing; a BOM opening the stream is
    // skipped; `data:` with nothing after it is an (empty, non-JSON) event.
    let stream = "\u{FEFF}event: ping\nid: 7\nretry: 1000\n\ndata:\n\ndata: [DONE]\n\n"
    expectSplitInvariant(Array(stream.utf8), Outcome(events: 2, text: "", usage: Usage()))
}

@Test func mockUpstreamStreamShape() {
    // The shape kgb-mock-upstream sends (mock_t_ns stamps in the JSON are ignored fields).
    var stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-mock\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}},\"mock_t_ns\":1}\n\n"
    stream += "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    stream += "event: ping\ndata: {\"type\":\"ping\"}\n\n"
    for i in 0..<3 {
        stream += "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"word\(i) \"}}\n\n"
    }
    stream += "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    stream += "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":3}}\n\n"
    stream += "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
    #expect(analyze(Array(stream.utf8)) == Outcome(
        events: 9, text: "word0 word1 word2 ",
        usage: Usage(model: "claude-mock", inputTokens: 12, outputTokens: 3, cacheReadInputTokens: 0,
                     cacheCreationInputTokens: 0, stopReason: "end_turn")))
}

// MARK: OpenAI Chat Completions

/// A streamed chat completion with stream_options.include_usage: role chunk, content chunks, finish chunk,
/// usage chunk (empty choices), [DONE].
let openAIStream = #"""
data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"content":"lo ☃ \"x\"\n"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":7,"total_tokens":1207,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}

data: [DONE]


"""#

let openAIExpected = Outcome(
    events: 6, text: "Hello ☃ \"x\"\n",
    usage: Usage(model: "gpt-4o-2024-08-06", inputTokens: 1200, outputTokens: 7, cacheReadInputTokens: 1024,
                 stopReason: "stop", inputIncludesCacheRead: true))

@Test func openAIStreamSplitAnywhere() {
    expectSplitInvariant(Array(openAIStream.utf8), openAIExpected)
}

@Test func openAIStreamWithCRLFAndComments() {
    let stream = ": OPENROUTER PROCESSING\r\n\r\n" + openAIStream.replacing("\n", with: "\r\n")
    expectSplitInvariant(Array(stream.utf8), openAIExpected)
}

@Test func openAIStreamCutBeforeUsageChunk() throws {
    // Cut inside the usage chunk: the text and finish reason are kept, the token counts were never sent.
    let usage = try #require(openAIStream.utf8.firstRange(of: #""usage":{"prompt_tokens""#.utf8))
    let cut = openAIStream.utf8.distance(from: openAIStream.utf8.startIndex, to: usage.lowerBound)
    let outcome = analyze(Array(Array(openAIStream.utf8)[..<cut]))
    #expect(outcome == Outcome(events: 4, text: openAIExpected.text,
                               usage: Usage(model: "gpt-4o-2024-08-06", stopReason: "stop")))
}

@Test func eachStreamSaysWhichInputConvention() {
    // OpenAI's prompt_tokens include the cached tokens, Anthropic's input_tokens exclude them: a cost needs to know.
    #expect(analyze(Array(openAIStream.utf8)).usage.inputIncludesCacheRead)
    #expect(!analyze(Array(anthropicStream.utf8)).usage.inputIncludesCacheRead)
}

@Test func openAIToolCallArgumentsAreText() {
    let stream = #"""
    data: {"object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}

    data: {"object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}

    data: {"object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}

    data: {"object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

    data: [DONE]


    """#
    #expect(analyze(Array(stream.utf8)) == Outcome(
        events: 5, text: #"{"city":"Paris"}"#, usage: Usage(model: "gpt-4o", stopReason: "tool_calls")))
}

// The fast path for text deltas must agree with the full JSON parser on every spelling it accepts, and step
// aside for everything else.
@Test(arguments: [
    #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"plain "}}"#,
    #"{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"esc \"q\" \\ \/ \n\t \u00e9 \ud83d\ude00"}}"#,
    #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi \u2028"},"logprobs":null,"finish_reason":null}]}"#,
    #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"},"extra":1}"#,
    #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"bad \ud800"}}"#,
])
func fastPathAgreesWithTheParser(_ event: String) {
    // The OpenAI fast path needs the model first, as in a real stream.
    let prologue = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    var analyzer = SSEAnalyzer()
    analyzer.feed(Array((prologue + "data: " + event + "\n\n").utf8))
    analyzer.finish()
    let parsed = try? JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any]
    let delta = parsed?["delta"] as? [String: Any]
    let choice = (parsed?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]
    let expected = (delta?["text"] as? String) ?? (choice?["content"] as? String) ?? ""
    #expect(analyzer.text == expected)
    #expect(analyzer.events == 2)
}

@Test func fastPathStepsAsideForInvalidUTF8() {
    // Raw multi-byte text is kept; a raw byte that is not UTF-8 makes the fast path step aside, and the parser
    // then rejects the event (counted, no text), leaving the text before it intact.
    func delta(_ text: [UInt8]) -> [UInt8] {
        Array(#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""#.utf8) + text
            + Array("\"}}\n\n".utf8)
    }
    let stream = delta(Array("wö".utf8)) + delta([0x61, 0xFF, 0x62]) + delta([0xC3]) + delta(Array("rld ☃".utf8))
    let expected = Outcome(events: 4, text: "wörld ☃", usage: Usage())
    expectSplitInvariant(stream, expected)
}

@Test func hasTextFollowsTheFirstDelta() {
    var analyzer = SSEAnalyzer()
    analyzer.feed(Array("event: ping\ndata: {\"type\":\"ping\"}\n\n".utf8))
    #expect(!analyzer.hasText)
    analyzer.feed(Array(#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}"#.utf8))
    #expect(!analyzer.hasText)  // not dispatched yet
    analyzer.feed(Array("\n\n".utf8))
    #expect(analyzer.hasText && analyzer.text == "a")
}

@Test func oversizedEventIsCountedNotRead() {
    // Lines read in place (whole in one piece) and lines held across pieces obey the same bound.
    let big = Array("data: ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: SSEAnalyzer.maxEventBytes) + Array("\n\n".utf8)
    let next = Array(#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"after"}}"#.utf8)
        + Array("\n\n".utf8)
    let stream = big + next
    let expected = Outcome(events: 2, text: "after", usage: Usage())
    #expect(analyze(stream) == expected)
    #expect(analyze(stream, cuts: [3]) == expected)
    #expect(analyze(stream, cuts: [1000, big.count - 2, big.count + 10]) == expected)
    // Just under the bound, the data is read (not JSON: an event without text).
    let fits = Array("data: ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: SSEAnalyzer.maxEventBytes - 1) + Array("\n\n".utf8)
    #expect(analyze(fits + next) == expected)
    #expect(analyze(fits + next, cuts: [100]) == expected)
}

// Events the record uses only by count are recognised without the JSON parser; what is not a well-formed object
// (trailing bytes, a "type" that is not a string, a message_start) still takes the full path and reads the same.
@Test func eventsCountedWithoutTheParserReadAsBefore() {
    let stream = """
        event: message_start
        data: {"type":"message_start","message":{"model":"claude-q","usage":{"input_tokens":5,"output_tokens":1}}}

        event: ping
        data: {"type": "ping"}

        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":"ignored"}}

        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}

        data: {"type":"content_block_stop","index":0} trailing

        data: {"type":7}

        data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}

        data: {"type":"message_stop"}


        """
    let expected = Outcome(events: 8, text: "hi",
                           usage: Usage(model: "claude-q", inputTokens: 5, outputTokens: 9, stopReason: "end_turn"))
    expectSplitInvariant(Array(stream.utf8), expected)
}

@Test func theAnswerTextIsKeptUpToAMebibyteCutAtACharacter() {
    var analyzer = SSEAnalyzer()
    let delta = #"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\#(String(repeating: "é", count: 1000))"}}"# + "\n\n"
    let event = Array(delta.utf8)
    for _ in 0..<600 { analyzer.feed(event) }  // 1.2 MB of text
    analyzer.finish()
    #expect(analyzer.events == 600)
    let text = Array(analyzer.text.utf8)
    #expect(text.count <= SSEAnalyzer.maxTextBytes && text.count > SSEAnalyzer.maxTextBytes - 4)
    #expect(String(validating: text, as: UTF8.self) != nil && analyzer.text.allSatisfy { $0 == "é" })
}
