// POST /v1/messages as the Anthropic Messages API answers it: a message JSON, or with "stream": true the
// event sequence message_start, content_block_start, ping, N × content_block_delta, content_block_stop,
// message_delta, message_stop, which the official SDKs accumulate into the same message.

enum AnthropicResponses {
    static func plan(_ request: MockRequest, knobs: Knobs, number: Int) -> ResponsePlan {
        let body = APIRequestBody(request)
        let message = MessageFacts(id: "msg_mock_\(number)", model: body.model ?? "claude-mock",
                                   inputTokens: body.inputTokens, words: knobs.events,
                                   cacheRead: knobs.cacheRead ?? 0, cacheWrite: knobs.cacheWrite ?? 0)
        if body.stream {
            return ResponsePlan(status: 200, headers: [("content-type", "text/event-stream"), ("cache-control", "no-cache")],
                                body: .events(AnthropicEventSource(message)))
        }
        let text = (0..<message.words).map { "word\($0) " }.joined()
        return .json(200, """
            {"id":\(JSONText.quoted(message.id)),"type":"message","role":"assistant","model":\(JSONText.quoted(message.model)),\
            "content":[{"type":"text","text":\(JSONText.quoted(text))}],"stop_reason":"end_turn","stop_sequence":null,\
            "usage":{"input_tokens":\(message.inputTokens),"output_tokens":\(message.words),\
            "cache_creation_input_tokens":\(message.cacheWrite),"cache_read_input_tokens":\(message.cacheRead)}}
            """)
    }
}

struct MessageFacts {
    var id: String
    var model: String
    var inputTokens: UInt64
    /// Text deltas, and output tokens: one word, one token.
    var words: Int
    /// Prompt-cache tokens, reported apart from input_tokens (as the API does).
    var cacheRead: UInt64 = 0
    var cacheWrite: UInt64 = 0
}

/// The stream's events, made one at a time as the writer asks (so `mock_t_ns` is the time of sending).
final class AnthropicEventSource: BodySource {
    private let message: MessageFacts
    private var index = 0

    init(_ message: MessageFacts) { self.message = message }

    /// message_start, content_block_start, ping, the deltas, content_block_stop, message_delta, message_stop.
    private var total: Int { message.words + 6 }
    var hasNext: Bool { index < total }

    func next(timestamp: UInt64?) -> BodyPiece {
        defer { index += 1 }
        let (name, data): (String, String)
        switch index {
        case 0:
            (name, data) = ("message_start", """
                {"type":"message_start","message":{"id":\(JSONText.quoted(message.id)),"type":"message","role":"assistant",\
                "model":\(JSONText.quoted(message.model)),"content":[],"stop_reason":null,"stop_sequence":null,\
                "usage":{"input_tokens":\(message.inputTokens),"output_tokens":1,\
                "cache_creation_input_tokens":\(message.cacheWrite),"cache_read_input_tokens":\(message.cacheRead)}}}
                """)
        case 1:
            (name, data) = ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#)
        case 2:
            (name, data) = ("ping", #"{"type":"ping"}"#)
        case total - 3:
            (name, data) = ("content_block_stop", #"{"type":"content_block_stop","index":0}"#)
        case total - 2:
            (name, data) = ("message_delta", """
                {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},\
                "usage":{"output_tokens":\(message.words)}}
                """)
        case total - 1:
            (name, data) = ("message_stop", #"{"type":"message_stop"}"#)
        default:
            (name, data) = ("content_block_delta", """
                {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word\(index - 3) "}}
                """)
        }
        return .event(Array("event: \(name)\ndata: \(JSONText.stamped(data, timestamp))\n\n".utf8))
    }
}
