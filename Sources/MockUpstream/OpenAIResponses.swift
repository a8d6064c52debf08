// POST /v1/chat/completions as the OpenAI API answers it: a chat.completion JSON, or with "stream": true the
// chat.completion.chunk events (role in the first delta, a finish chunk, a usage chunk when
// stream_options.include_usage asks for it) ending with `data: [DONE]`.
import Foundation

enum OpenAIResponses {
    static func plan(_ request: MockRequest, knobs: Knobs, number: Int) -> ResponsePlan {
        let body = APIRequestBody(request)
        let completion = CompletionFacts(id: "chatcmpl-mock-\(number)", model: body.model ?? "gpt-mock",
                                         created: Int(Date().timeIntervalSince1970),
                                         promptTokens: body.inputTokens, words: knobs.events,
                                         includeUsage: body.includeUsage, cachedTokens: knobs.cacheRead)
        if body.stream {
            return ResponsePlan(status: 200, headers: [("content-type", "text/event-stream"), ("cache-control", "no-cache")],
                                body: .events(OpenAIEventSource(completion)))
        }
        let text = (0..<completion.words).map { "word\($0) " }.joined()
        return .json(200, """
            {"id":\(JSONText.quoted(completion.id)),"object":"chat.completion","created":\(completion.created),\
            "model":\(JSONText.quoted(completion.model)),"choices":[{"index":0,"message":{"role":"assistant",\
            "content":\(JSONText.quoted(text)),"refusal":null},"logprobs":null,"finish_reason":"stop"}],\
            "usage":\(completion.usage)}
            """)
    }
}

struct CompletionFacts {
    var id: String
    var model: String
    var created: Int
    var promptTokens: UInt64
    var words: Int
    var includeUsage: Bool
    /// A cached prompt prefix: counted inside prompt_tokens as well (as the API does), on top of the body's tokens.
    var cachedTokens: UInt64?

    var usage: String {
        let prompt = promptTokens + (cachedTokens ?? 0)
        let details = cachedTokens.map { #","prompt_tokens_details":{"cached_tokens":\#($0),"audio_tokens":0}"# } ?? ""
        return #"{"prompt_tokens":\#(prompt),"completion_tokens":\#(words),"total_tokens":\#(prompt + UInt64(words))\#(details)}"#
    }
}

final class OpenAIEventSource: BodySource {
    private let completion: CompletionFacts
    private var index = 0

    init(_ completion: CompletionFacts) { self.completion = completion }

    /// The deltas, the finish chunk, the usage chunk if asked for, [DONE].
    private var total: Int { completion.words + (completion.includeUsage ? 3 : 2) }
    var hasNext: Bool { index < total }

    func next(timestamp: UInt64?) -> BodyPiece {
        defer { index += 1 }
        if index == total - 1 { return .event(Array("data: [DONE]\n\n".utf8)) }
        let prefix = """
            {"id":\(JSONText.quoted(completion.id)),"object":"chat.completion.chunk","created":\(completion.created),\
            "model":\(JSONText.quoted(completion.model)),"choices":
            """
        let rest: String
        if index < completion.words {
            let role = index == 0 ? #""role":"assistant","# : ""
            rest = #"[{"index":0,"delta":{\#(role)"content":"word\#(index) "},"finish_reason":null}]}"#
        } else if index == completion.words {
            rest = #"[{"index":0,"delta":{},"finish_reason":"stop"}]}"#
        } else {
            rest = #"[],"usage":\#(completion.usage)}"#
        }
        return .event(Array("data: \(JSONText.stamped(prefix + rest, timestamp))\n\n".utf8))
    }
}
