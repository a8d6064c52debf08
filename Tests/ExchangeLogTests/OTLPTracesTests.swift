// Exchange records as OTLP spans: the GenAI attributes, ids, times and status each record gives, and the
// ExportTraceServiceRequest around them. With KGB_OTLP_FIXTURE_DIR set, the requests for a few representative
// batches are also written there, for scripts/check-otlp.sh to decode with opentelemetry-proto's own classes.
import Foundation
@testable import ExchangeLog
import Testing

@Suite struct OTLPTracesTests {
    // MARK: Records

    /// A streamed Anthropic exchange, as the logger writes one (README "The exchange log").
    static func anthropicStream(id: String = "0006453f2b9c81e2a41c00000001", headers: [String: Any] = [:]) -> [String: Any] {
        let request = #"{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"temperature":0.5,"system":"Be brief.","#
            + #""messages":[{"role":"user","content":"Say hi"},{"role":"assistant","content":[{"type":"text","text":"Hi?"},"#
            + #"{"type":"tool_use","id":"toolu_1","name":"greet","input":{"who":"you"}}]},"#
            + #"{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"done"},"#
            + #"{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}"#
        let stream = "event: message_start\n"
            + #"data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"usage":{"input_tokens":14,"cache_read_input_tokens":100,"cache_creation_input_tokens":6,"output_tokens":1}}}"#
            + "\n\nevent: content_block_delta\n"
            + #"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi there!"}}"#
            + "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        return [
            "id": id, "started_at": "2026-11-25T12:34:56.123456Z", "client": "127.0.0.1:53422",
            "method": "POST", "path": "/v1/messages", "upstream": "https://api.anthropic.com",
            "request": ["headers": ["x-api-key": "sha256:4f0c9a1b2d3e", "content-type": "application/json"].merging(headers) { $1 },
                        "body": request, "body_bytes": request.utf8.count, "truncated": false],
            "response": ["status": 200, "headers": ["content-type": "text/event-stream"], "body": stream,
                         "body_bytes": stream.utf8.count, "truncated": false, "content_encoding": NSNull()],
            "timing": ["upstream_connect_ms": 0.21, "upstream_tls_ms": NSNull(), "ttfb_ms": 1.9, "first_token_ms": 2.3,
                       "total_ms": 41.7, "upstream_tls_resumed": NSNull()],
            "agent": ["name": "build-bot", "key": "sha256:4f0c9a1b2d3e", "session": "9d1c0f2e-7b1a-4c55-9e0e-1f2a3b4c5d6e",
                      "user_agent": "claude-cli/2.0.14"],
            "attempts": [["upstream": "https://api.anthropic.com", "status": 200, "error": NSNull(), "ms": 41.7]],
            "outcome": "complete", "error": NSNull(),
            "usage": ["model": "claude-sonnet-4-5-20250929", "input_tokens": 14, "output_tokens": 20,
                      "cache_read_input_tokens": 100, "cache_creation_input_tokens": 6, "stop_reason": "end_turn"],
            "cost_usd": 0.000342,
            "sse": ["events": 3, "text": "Hi there!"],
        ]
    }

    /// A whole (not streamed) OpenAI chat completion through an upstream URL with a path and no port.
    static func openAIJSON() -> [String: Any] {
        let request = #"{"model":"gpt-4.1","messages":[{"role":"system","content":"You are terse."},"#
            + #"{"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]},"#
            + #"{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]},"#
            + #"{"role":"tool","tool_call_id":"call_1","content":"rainy, 14 C"}],"max_completion_tokens":200,"top_p":1}"#
        let answer = #"{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"#
            + #""model":"gpt-4.1-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":"Rainy, 14 C.","#
            + #""refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":2006,"completion_tokens":10,"#
            + #""prompt_tokens_details":{"cached_tokens":1920}}}"#
        return [
            "id": "0006453f2b9c81e2a41c00000002", "started_at": "2026-11-25T12:35:00.000001Z", "client": "10.0.0.7:40000",
            "method": "POST", "path": "/v1/chat/completions?trace=1", "upstream": "https://api.openai.com/v1",
            "request": ["headers": ["authorization": "sha256:0123456789ab"], "body": request,
                        "body_bytes": request.utf8.count, "truncated": false],
            "response": ["status": 200, "headers": ["content-type": "application/json"], "body": answer,
                         "body_bytes": answer.utf8.count, "truncated": false, "content_encoding": "gzip"],
            "timing": ["upstream_connect_ms": 3.5, "upstream_tls_ms": 12.25, "ttfb_ms": 800.125, "first_token_ms": 800.5,
                       "total_ms": 801.000001, "upstream_tls_resumed": false],
            "agent": ["name": NSNull(), "key": "sha256:0123456789ab", "session": NSNull(), "user_agent": "openai-python/1.0"],
            "attempts": [], "outcome": "complete", "error": NSNull(),
            "usage": ["model": "gpt-4.1-2025-04-14", "input_tokens": 2006, "output_tokens": 10,
                      "cache_read_input_tokens": 1920, "cache_creation_input_tokens": NSNull(), "stop_reason": "stop"],
            "cost_usd": NSNull(),
        ]
    }

    /// An upstream that never answered: no response, no total time.
    static func timedOut() -> [String: Any] {
        [
            "id": "0006453f2b9c81e2a41c00000003", "started_at": "2026-11-25T12:36:00.5Z", "client": "127.0.0.1:1",
            "method": "POST", "path": "/v1/messages", "upstream": "http://[::1]:9100",
            "request": ["headers": [:] as [String: Any], "body": #"{"model":"claude-haiku-4-5","stream":false,"messages":[]}"#,
                        "body_bytes": 56, "truncated": false],
            "response": NSNull(),
            "timing": ["upstream_connect_ms": 0.2, "upstream_tls_ms": NSNull(), "ttfb_ms": NSNull(), "first_token_ms": NSNull(),
                       "total_ms": NSNull(), "upstream_tls_resumed": NSNull()],
            "agent": ["name": NSNull(), "key": NSNull(), "session": NSNull(), "user_agent": NSNull()],
            "attempts": [["upstream": "http://[::1]:9100", "status": NSNull(), "error": "timed out", "ms": 600000.0]],
            "outcome": "upstream_timeout", "error": "no response head within 600 s", "cost_usd": NSNull(),
        ]
    }

    /// A complete exchange whose upstream answered with an error (Anthropic's 529 overloaded).
    static func overloaded() -> [String: Any] {
        var record = timedOut()
        record["id"] = "0006453f2b9c81e2a41c00000004"
        record["upstream"] = "http://127.0.0.1:9100"
        let body = #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#
        record["response"] = ["status": 529, "headers": ["content-type": "application/json"], "body": body,
                              "body_bytes": body.utf8.count, "truncated": false, "content_encoding": NSNull()]
        record["timing"] = ["total_ms": 12.5]
        record["outcome"] = "complete"
        record["error"] = NSNull()
        return record
    }

    /// Refused by kgb before routing: no upstream, kgb's own answer.
    static func rejected() -> [String: Any] {
        var record = timedOut()
        record["id"] = "0006453f2b9c81e2a41c00000005"
        record["upstream"] = ""
        record["response"] = ["status": 429, "headers": [:] as [String: Any], "body": #"{"error":"over budget"}"#,
                              "body_bytes": 23, "truncated": false, "content_encoding": NSNull()]
        record["timing"] = ["total_ms": 0.05]
        record["agent"] = ["name": "ci", "key": "sha256:aaaaaaaaaaaa", "session": NSNull(), "user_agent": NSNull()]
        record["outcome"] = "rejected"
        record["error"] = "agent ci is over its daily budget"
        return record
    }

    /// Not one of the message APIs.
    static func listModels() -> [String: Any] {
        var record = timedOut()
        record["id"] = "0006453f2b9c81e2a41c00000006"
        record["method"] = "GET"
        record["path"] = "/v1/models"
        record["request"] = ["headers": [:] as [String: Any], "body": "", "body_bytes": 0, "truncated": false]
        record["response"] = ["status": 200, "headers": [:] as [String: Any], "body": #"{"data":[],"has_more":false}"#,
                              "body_bytes": 28, "truncated": false, "content_encoding": NSNull()]
        record["timing"] = ["total_ms": 3.0]
        record["outcome"] = "complete"
        record["error"] = NSNull()
        return record
    }

    static func bytes(_ record: [String: Any]) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]))
    }

    static func span(_ record: [String: Any], content: Bool = false) throws -> ExchangeSpan {
        try #require(ExchangeSpan(record: bytes(record), includeContent: content))
    }

    // MARK: Attributes

    @Test func aStreamedAnthropicExchange() throws {
        let span = try Self.span(Self.anthropicStream())
        #expect(span.name == "chat claude-sonnet-4-5")
        #expect(span.attribute("gen_ai.operation.name") == .string("chat"))
        #expect(span.attribute("gen_ai.provider.name") == .string("anthropic"))
        #expect(span.attribute("gen_ai.request.model") == .string("claude-sonnet-4-5"))
        #expect(span.attribute("gen_ai.request.stream") == .bool(true))
        #expect(span.attribute("gen_ai.request.max_tokens") == .int(1024))
        #expect(span.attribute("gen_ai.request.temperature") == .double(0.5))
        #expect(span.attribute("gen_ai.response.model") == .string("claude-sonnet-4-5-20250929"))
        #expect(span.attribute("gen_ai.response.id") == .string("msg_01XFDUDYJgAACzvnptvVoYEL"))
        #expect(span.attribute("gen_ai.response.finish_reasons") == .strings(["end_turn"]))
        // Anthropic's input_tokens leaves out the cache; the conventions' count includes it.
        #expect(span.attribute("gen_ai.usage.input_tokens") == .int(14 + 100 + 6))
        #expect(span.attribute("gen_ai.usage.output_tokens") == .int(20))
        #expect(span.attribute("gen_ai.usage.cache_read.input_tokens") == .int(100))
        #expect(span.attribute("gen_ai.usage.cache_creation.input_tokens") == .int(6))
        #expect(span.attribute("server.address") == .string("api.anthropic.com"))
        #expect(span.attribute("server.port") == .int(443))
        #expect(span.attribute("http.request.method") == .string("POST"))
        #expect(span.attribute("http.response.status_code") == .int(200))
        #expect(span.attribute("gen_ai.conversation.id") == .string("9d1c0f2e-7b1a-4c55-9e0e-1f2a3b4c5d6e"))
        #expect(span.attribute("kgb.exchange.id") == .string("0006453f2b9c81e2a41c00000001"))
        #expect(span.attribute("kgb.outcome") == .string("complete"))
        #expect(span.attribute("kgb.agent.name") == .string("build-bot"))
        #expect(span.attribute("kgb.session") == .string("9d1c0f2e-7b1a-4c55-9e0e-1f2a3b4c5d6e"))
        #expect(span.attribute("kgb.cost_usd") == .double(0.000342))
        #expect(span.attribute("error.type") == nil)
        #expect(!span.failed)
        #expect(Set(span.attributes.map(\.key)).count == span.attributes.count, "each key once")
    }

    @Test func aWholeOpenAIAnswer() throws {
        let span = try Self.span(Self.openAIJSON())
        #expect(span.name == "chat gpt-4.1")
        #expect(span.attribute("gen_ai.provider.name") == .string("openai"))
        #expect(span.attribute("gen_ai.request.stream") == nil, "unset means not streamed")
        #expect(span.attribute("gen_ai.request.max_tokens") == .int(200))
        #expect(span.attribute("gen_ai.request.top_p") == .double(1))
        #expect(span.attribute("gen_ai.response.id") == .string("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"))
        #expect(span.attribute("gen_ai.response.finish_reasons") == .strings(["stop"]))
        // prompt_tokens already counts the cached ones.
        #expect(span.attribute("gen_ai.usage.input_tokens") == .int(2006))
        #expect(span.attribute("gen_ai.usage.cache_read.input_tokens") == .int(1920))
        #expect(span.attribute("gen_ai.usage.cache_creation.input_tokens") == nil, "null: not reported")
        #expect(span.attribute("server.address") == .string("api.openai.com"))
        #expect(span.attribute("server.port") == .int(443))
        #expect(span.attribute("kgb.agent.name") == nil)
        #expect(span.attribute("kgb.session") == nil)
        #expect(span.attribute("gen_ai.conversation.id") == nil)
        #expect(span.attribute("kgb.cost_usd") == nil)
    }

    @Test func failuresSetTheStatusAndErrorType() throws {
        let timedOut = try Self.span(Self.timedOut())
        #expect(timedOut.failed)
        #expect(timedOut.statusMessage == "no response head within 600 s")
        #expect(timedOut.attribute("error.type") == .string("upstream_timeout"))
        #expect(timedOut.attribute("http.response.status_code") == nil, "no response")
        #expect(timedOut.attribute("server.address") == .string("::1"))
        #expect(timedOut.attribute("server.port") == .int(9100))
        #expect(timedOut.attribute("gen_ai.response.id") == nil)
        #expect(timedOut.endNanos == timedOut.startNanos, "a null total is a zero-length span")

        let overloaded = try Self.span(Self.overloaded())
        #expect(overloaded.failed)
        #expect(overloaded.attribute("error.type") == .string("overloaded_error"), "the provider's own code")
        #expect(overloaded.statusMessage == "Overloaded")
        #expect(overloaded.attribute("http.response.status_code") == .int(529))
        #expect(overloaded.attribute("kgb.outcome") == .string("complete"))
        #expect(overloaded.attribute("gen_ai.response.id") == nil, "an error answer has no completion id")

        let rejected = try Self.span(Self.rejected())
        #expect(rejected.failed)
        #expect(rejected.attribute("error.type") == .string("rejected"))
        #expect(rejected.statusMessage == "agent ci is over its daily budget")
        #expect(rejected.attribute("server.address") == nil, "never routed")
        #expect(rejected.attribute("kgb.agent.name") == .string("ci"))

        // A 4xx with no provider error object: the status code is the error type.
        var teapot = Self.overloaded()
        teapot["response"] = ["status": 418, "body": "no"]
        #expect(try Self.span(teapot).attribute("error.type") == .string("418"))
    }

    @Test func otherPathsAreHTTPSpansWithoutGenAIOperation() throws {
        let span = try Self.span(Self.listModels())
        #expect(span.name == "GET")
        #expect(span.attribute("gen_ai.operation.name") == nil)
        #expect(span.attribute("gen_ai.provider.name") == nil, "unknown provider: left out")
        #expect(span.attribute("http.response.status_code") == .int(200))
        #expect(!span.failed)
    }

    @Test func theProviderFromThePathElseFromTheAnswer() throws {
        #expect(ExchangeSpan.api(path: "/v1/messages") == .anthropicMessages)
        #expect(ExchangeSpan.api(path: "/anthropic/v1/messages?beta=true") == .anthropicMessages)
        #expect(ExchangeSpan.api(path: "/v1/messages/count_tokens") == nil)
        #expect(ExchangeSpan.api(path: "/v1/chat/completions") == .openAIChat)
        #expect(ExchangeSpan.api(path: "/openai/deployments/x/chat/completions") == .openAIChat)
        #expect(ExchangeSpan.api(path: "/v1/responses") == .openAIResponses)
        #expect(ExchangeSpan.api(path: "/v1/models") == nil)
        // A route kgb does not know by name, answered in Anthropic's shape.
        var record = Self.anthropicStream()
        record["path"] = "/proxy/generate"
        let span = try Self.span(record)
        #expect(span.attribute("gen_ai.provider.name") == .string("anthropic"))
        #expect(span.name == "chat claude-sonnet-4-5")
        // An OpenAI stream's chunks carry the id and say which API they are.
        var openAI = Self.openAIJSON()
        openAI["path"] = "/somewhere"
        openAI["response"] = ["status": 200, "body": "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"choices\":[]}\n\ndata: [DONE]\n\n"]
        openAI["sse"] = ["events": 2, "text": ""]
        let chunked = try Self.span(openAI)
        #expect(chunked.attribute("gen_ai.provider.name") == .string("openai"))
        #expect(chunked.attribute("gen_ai.response.id") == .string("chatcmpl-9"))
    }

    @Test func serverAddressAndPortFromTheUpstreamURL() {
        #expect(ExchangeSpan.server("http://127.0.0.1:9100")! == ("127.0.0.1", 9100))
        #expect(ExchangeSpan.server("https://api.anthropic.com")! == ("api.anthropic.com", 443))
        #expect(ExchangeSpan.server("http://llm.internal/v1")! == ("llm.internal", 80))
        #expect(ExchangeSpan.server("https://[2001:db8::1]:8443/x")! == ("2001:db8::1", 8443))
        #expect(ExchangeSpan.server("http://user:pw@host:81")! == ("host", 81))
        #expect(ExchangeSpan.server("") == nil)
        #expect(ExchangeSpan.server("http://host:http") == nil)
    }

    // MARK: Ids and times

    @Test func idsAreDerivedFromTheRecordIdAndDifferPerRecord() throws {
        let first = try Self.span(Self.anthropicStream())
        let again = try Self.span(Self.anthropicStream())
        let other = try Self.span(Self.anthropicStream(id: "0006453f2b9c81e2a41c00000099"))
        #expect(first.traceID.count == 16 && first.spanID.count == 8)
        #expect(first.traceID == again.traceID && first.spanID == again.spanID, "a replayed record is the same span")
        #expect(first.traceID != other.traceID && first.spanID != other.spanID)
        #expect(first.traceID.contains { $0 != 0 } && first.spanID.contains { $0 != 0 })
        #expect(first.parentSpanID == nil)
        // SHA-256("0006453f2b9c81e2a41c00000001") by sha256sum: the trace id is its first 16 bytes, the span id the
        // next 8.
        #expect(hex(first.traceID) == "dac55ce0c9d69e571541b1039f00eae2")
        #expect(hex(first.spanID) == "2735db1b402a8759")
        // The whole request is the same bytes for the same batch.
        let batch = [Self.anthropicStream(), Self.openAIJSON()].map(Self.bytes)
        #expect(OTLPTraces.exportRequest(records: batch, includeContent: true, serviceName: "kgb", instance: "i")
                == OTLPTraces.exportRequest(records: batch, includeContent: true, serviceName: "kgb", instance: "i"))
    }

    @Test func aTraceparentMakesTheSpanAChildOfTheClientsSpan() throws {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let span = try Self.span(Self.anthropicStream(headers: ["traceparent": header]))
        #expect(hex(span.traceID) == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(span.parentSpanID.map(hex) == "00f067aa0ba902b7")
        #expect(span.spanID == (try Self.span(Self.anthropicStream())).spanID, "still the record's own span id")
        for invalid in ["00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
                        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", "garbage"] {
            #expect(try Self.span(Self.anthropicStream(headers: ["traceparent": invalid])).parentSpanID == nil, "\(invalid)")
        }
        // A later version may add fields.
        #expect(ExchangeSpan.TraceParent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more") != nil)
    }

    @Test func startFromStartedAtAndEndAfterTheTotal() throws {
        let span = try Self.span(Self.anthropicStream())
        // 2026-11-25T12:34:56.123456Z = 1795610096 s after the epoch (date -u -d ... +%s).
        #expect(span.startNanos == 1_795_610_096_123_456_000)
        #expect(span.endNanos == span.startNanos + 41_700_000)
        let openAI = try Self.span(Self.openAIJSON())
        #expect(openAI.endNanos - openAI.startNanos == 801_000_001)
        // Figures no exchange has do not trap the sink's thread.
        var absurd = Self.anthropicStream()
        absurd["timing"] = ["total_ms": 1e300]
        absurd["usage"] = ["input_tokens": Int.max, "cache_read_input_tokens": 5]
        let span2 = try Self.span(absurd)
        #expect(span2.endNanos == span2.startNanos)
        #expect(span2.attribute("gen_ai.usage.input_tokens") == .int(Int.max))
        absurd["timing"] = ["total_ms": -5.0]
        #expect(try Self.span(absurd).endNanos == span2.startNanos)
    }

    @Test func startedAtReadsWhatTheLoggerWrites() {
        for micros: UInt64 in [0, 1, 999_999, 951_782_400_000_000 /* 2000-02-29 */, 1_795_610_096_123_456,
                               4_102_444_799_999_999 /* 2099-12-31T23:59:59.999999 */] {
            #expect(RFC3339.nanos(parsing: RFC3339.micros(micros)) == micros * 1000, "\(RFC3339.micros(micros))")
        }
        #expect(RFC3339.nanos(parsing: "1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.nanos(parsing: "2026-11-25T12:34:56.5Z") == 1_795_610_096_500_000_000)
        #expect(RFC3339.nanos(parsing: "2026-11-25T12:34:56.123456789123Z") == 1_795_610_096_123_456_789)
        #expect(RFC3339.nanos(parsing: "2026-11-25T14:34:56+02:00") == 1_795_610_096_000_000_000)
        for bad in ["", "2026-11-25", "2026-11-25 12:34:56Z", "2026-11-25T12:34:56", "2026-13-25T12:34:56Z",
                    "2026-11-25T12:34:56.Z", "1969-12-31T23:59:59Z", "2026-11-25T12:34:56Zjunk", "9999-12-31T23:59:59Z"] {
            #expect(RFC3339.nanos(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func recordsThatAreNoRecordsAreLeftOut() {
        #expect(ExchangeSpan(record: Array("not json".utf8), includeContent: false) == nil)
        #expect(ExchangeSpan(record: Array("{}".utf8), includeContent: false) == nil)
        #expect(ExchangeSpan(record: Array(#"{"id":"x","started_at":"yesterday"}"#.utf8), includeContent: false) == nil)
        #expect(OTLPTraces.exportRequest(records: [], includeContent: false, serviceName: "kgb", instance: "i").isEmpty)
        #expect(OTLPTraces.exportRequest(records: [Array("{}".utf8)], includeContent: false, serviceName: "kgb", instance: "i").isEmpty)
    }

    // MARK: Content

    @Test func noContentUnlessAsked() throws {
        for record in [Self.anthropicStream(), Self.openAIJSON()] {
            let span = try Self.span(record)
            let keys = span.attributes.map(\.key)
            #expect(!keys.contains("gen_ai.input.messages") && !keys.contains("gen_ai.output.messages")
                    && !keys.contains("gen_ai.system_instructions"))
            let encoded = OTLPTraces.exportRequest(records: [Self.bytes(record)], includeContent: false, serviceName: "kgb", instance: "i")
            for secret in ["Say hi", "Hi there!", "Be brief.", "Weather in Paris?", "Rainy, 14 C.", "rainy, 14 C"] {
                #expect(!contains(encoded, secret), "\(secret) left kgb without --otlp-content")
            }
        }
    }

    @Test func anthropicContentFollowsTheMessageSchemas() throws {
        let span = try Self.span(Self.anthropicStream(), content: true)
        let input = try json(span.attribute("gen_ai.input.messages"))
        #expect(input == json(#"""
            [{"role":"user","parts":[{"type":"text","content":"Say hi"}]},
             {"role":"assistant","parts":[{"type":"text","content":"Hi?"},
                                          {"type":"tool_call","id":"toolu_1","name":"greet","arguments":{"who":"you"}}]},
             {"role":"user","parts":[{"type":"tool_call_response","id":"toolu_1","response":"done"},{"type":"image"}]}]
            """#))
        #expect(try json(span.attribute("gen_ai.system_instructions")) == json(#"[{"type":"text","content":"Be brief."}]"#))
        #expect(try json(span.attribute("gen_ai.output.messages"))
                == json(#"[{"role":"assistant","parts":[{"type":"text","content":"Hi there!"}],"finish_reason":"end_turn"}]"#))
        let encoded = OTLPTraces.exportRequest(records: [Self.bytes(Self.anthropicStream())], includeContent: true,
                                               serviceName: "kgb", instance: "i")
        #expect(!contains(encoded, "iVBORw0KGgo="), "no image data")
    }

    @Test func openAIContentFollowsTheMessageSchemas() throws {
        let span = try Self.span(Self.openAIJSON(), content: true)
        #expect(try json(span.attribute("gen_ai.input.messages")) == json(#"""
            [{"role":"system","parts":[{"type":"text","content":"You are terse."}]},
             {"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]},
             {"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"location":"Paris"}}]},
             {"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"rainy, 14 C"}]}]
            """#))
        #expect(span.attribute("gen_ai.system_instructions") == nil, "OpenAI's system message is part of the history")
        #expect(try json(span.attribute("gen_ai.output.messages"))
                == json(#"[{"role":"assistant","parts":[{"type":"text","content":"Rainy, 14 C."}],"finish_reason":"stop"}]"#))
    }

    @Test func noOutputMessagesForAnErrorAnswer() throws {
        let span = try Self.span(Self.overloaded(), content: true)
        #expect(span.attribute("gen_ai.output.messages") == nil)
        #expect(span.attribute("gen_ai.input.messages") == nil, "an empty history is no attribute")
        // A stream cut short: the text it had, finished by an error.
        var cut = Self.anthropicStream()
        cut["outcome"] = "upstream_error"
        cut["error"] = "upstream closed mid-stream"
        cut["usage"] = ["model": "claude-sonnet-4-5-20250929", "input_tokens": 14]
        let cutSpan = try Self.span(cut, content: true)
        #expect(try json(cutSpan.attribute("gen_ai.output.messages"))
                == json(#"[{"role":"assistant","parts":[{"type":"text","content":"Hi there!"}],"finish_reason":"error"}]"#))
    }

    // MARK: The request

    @Test func theRequestNestsOneSpanPerRecordUnderOneResourceAndScope() throws {
        let records = [Self.anthropicStream(), Self.openAIJSON(), Self.timedOut()].map(Self.bytes) + [Array("{}".utf8)]
        let encoded = OTLPTraces.exportRequest(records: records, includeContent: false, serviceName: "kgb",
                                               instance: "host-1", serviceVersion: "0.4.0")
        let request = try Fields(encoded)
        let resourceSpans = try request.messages(1)
        #expect(resourceSpans.count == 1)
        let resource = try #require(try resourceSpans.first?.messages(1).first)
        let resourceAttributes = try resource.messages(1).map { try $0.keyValue() }
        #expect(resourceAttributes.map(\.key) == ["service.name", "service.instance.id", "service.version"])
        let scopeSpans = try #require(try resourceSpans.first?.messages(2))
        #expect(scopeSpans.count == 1)
        let scope = try #require(try scopeSpans.first?.messages(1).first)
        #expect(scope.strings(1) == ["kgb"] && scope.strings(2) == ["0.4.0"])
        let spans = try #require(try scopeSpans.first?.messages(2))
        #expect(spans.count == 3, "the record that is none is left out")
        let first = spans[0]
        let expected = try Self.span(Self.anthropicStream())
        #expect(first.bytes(1) == [expected.traceID] && first.bytes(2) == [expected.spanID])
        #expect(first.strings(5) == ["chat claude-sonnet-4-5"])
        #expect(first.varints(6) == [3], "SPAN_KIND_CLIENT")
        #expect(first.fixed64s(7) == [expected.startNanos] && first.fixed64s(8) == [expected.endNanos])
        #expect(first.messagesOrEmpty(15).isEmpty, "status unset when it did not fail")
        let attributes = try first.messages(9).map { try $0.keyValue() }
        #expect(attributes.map(\.key) == expected.attributes.map(\.key))
        // AnyValue members: int_value (3) for counts, array_value (5) of string_value (1) for finish reasons.
        let inputTokens = try #require(attributes.first { $0.key == "gen_ai.usage.input_tokens" })
        #expect(inputTokens.value.varints(3) == [120])
        let reasons = try #require(attributes.first { $0.key == "gen_ai.response.finish_reasons" })
        #expect(try reasons.value.messages(5).first?.messages(1).map { $0.strings(1) } == [["end_turn"]])
        let failed = spans[2]
        let status = try #require(try failed.messages(15).first)
        #expect(status.varints(3) == [2] && status.strings(2) == ["no response head within 600 s"])
    }

    /// The batches scripts/check-otlp.sh decodes with opentelemetry-proto (Tests/integration/otlp_check.py
    /// knows each by name). Always built, so the encoding of each is exercised even without the variable.
    @Test func fixturesForTheProtobufCheck() throws {
        let cases: [(name: String, records: [[String: Any]], content: Bool)] = [
            ("anthropic-stream", [Self.anthropicStream()], false),
            ("anthropic-stream-content", [Self.anthropicStream()], true),
            ("openai-json-content", [Self.openAIJSON()], true),
            ("failures", [Self.timedOut(), Self.overloaded(), Self.rejected(), Self.listModels()], false),
            ("traceparent", [Self.anthropicStream(headers: ["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"])], false),
        ]
        let directory = ProcessInfo.processInfo.environment["KGB_OTLP_FIXTURE_DIR"]
        for (name, records, content) in cases {
            let lines = records.map(Self.bytes)
            let encoded = OTLPTraces.exportRequest(records: lines, includeContent: content, serviceName: "kgb",
                                                   instance: "fixture-host", serviceVersion: "0.0.0-test")
            #expect(try Fields(encoded).messages(1).count == 1)
            guard let directory else { continue }
            let base = URL(fileURLWithPath: directory).appendingPathComponent(name)
            try Data(encoded).write(to: base.appendingPathExtension("pb"))
            try Data(lines.map { $0 + [0x0a] }.joined()).write(to: base.appendingPathExtension("jsonl"))
        }
    }
}

// MARK: Helpers

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
}

private func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
    let pattern = Array(needle.utf8)
    guard haystack.count >= pattern.count else { return false }
    return (0...(haystack.count - pattern.count)).contains { haystack[$0..<($0 + pattern.count)].elementsEqual(pattern) }
}

/// A JSON attribute's value, parsed, for comparing documents rather than key orders.
private func json(_ value: ExchangeSpan.Value?) throws -> NSObject {
    guard case .string(let text)? = value else { throw Missing() }
    return json(text)
}

private func json(_ text: String) -> NSObject {
    try! JSONSerialization.jsonObject(with: Data(text.utf8)) as! NSObject
}

private struct Missing: Error {}

/// Just enough of a protobuf reader to check the request's structure here; the real check decodes it with
/// opentelemetry-proto's generated classes (scripts/check-otlp.sh).
private struct Fields {
    enum Value { case varint(UInt64), fixed64(UInt64), fixed32(UInt32), bytes([UInt8]) }
    var fields: [(number: UInt64, value: Value)] = []

    struct Malformed: Error {}

    init(_ data: [UInt8]) throws {
        var i = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard i < data.count, shift < 64 else { throw Malformed() }
                let byte = data[i]
                i += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }
        func take(_ n: Int) throws -> [UInt8] {
            guard n >= 0, i + n <= data.count else { throw Malformed() }
            defer { i += n }
            return Array(data[i..<(i + n)])
        }
        func little(_ bytes: [UInt8]) -> UInt64 { bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        while i < data.count {
            let tag = try varint()
            switch tag & 7 {
            case 0: fields.append((tag >> 3, .varint(try varint())))
            case 1: fields.append((tag >> 3, .fixed64(little(try take(8)))))
            case 2: fields.append((tag >> 3, .bytes(try take(Int(try varint())))))
            case 5: fields.append((tag >> 3, .fixed32(UInt32(little(try take(4))))))
            default: throw Malformed()
            }
        }
    }

    func bytes(_ number: UInt64) -> [[UInt8]] {
        fields.compactMap { if $0.number == number, case .bytes(let b) = $0.value { b } else { nil } }
    }

    func strings(_ number: UInt64) -> [String] { bytes(number).map { String(decoding: $0, as: UTF8.self) } }
    func messages(_ number: UInt64) throws -> [Fields] { try bytes(number).map(Fields.init) }
    func messagesOrEmpty(_ number: UInt64) -> [[UInt8]] { bytes(number) }

    func varints(_ number: UInt64) -> [UInt64] {
        fields.compactMap { if $0.number == number, case .varint(let v) = $0.value { v } else { nil } }
    }

    func fixed64s(_ number: UInt64) -> [UInt64] {
        fields.compactMap { if $0.number == number, case .fixed64(let v) = $0.value { v } else { nil } }
    }

    /// A KeyValue: its key and its AnyValue.
    func keyValue() throws -> (key: String, value: Fields) {
        guard let key = strings(1).first, let value = try messages(2).first else { throw Malformed() }
        return (key, value)
    }
}
