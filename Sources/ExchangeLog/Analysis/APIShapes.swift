// How the Anthropic Messages and OpenAI Chat Completions JSON shapes map onto Usage, shared by the streaming
// (SSEAnalyzer) and whole-body (JSONBodyUsage) readers so both read a field the same way.

enum APIShapes {
    /// A non-empty string; `null`, absent and "" all read as "not said".
    static func string(_ value: JSONView?) -> String? {
        guard let s = value?.stringValue, !s.isEmpty else { return nil }
        return s
    }

    // MARK: Anthropic Messages

    /// `usage` of a message (message_start, a whole message) or of message_delta. Newer API versions repeat
    /// cumulative input and cache counts in message_delta, so the latest non-null value wins field by field.
    static func anthropicUsage(_ usage: JSONView?, into result: inout Usage) {
        guard let usage, usage.isObject else { return }
        let counts = usage.members(["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"])
        if let n = counts[0]?.int { result.inputTokens = n }
        if let n = counts[1]?.int { result.outputTokens = n }
        if let n = counts[2]?.int { result.cacheReadInputTokens = n }
        if let n = counts[3]?.int { result.cacheCreationInputTokens = n }
    }

    /// A whole message object, as message_start carries it or a non-streaming answer is.
    static func anthropicMessage(_ message: JSONView, into result: inout Usage) {
        let fields = message.members(["model", "stop_reason", "usage"])
        if let model = string(fields[0]) { result.model = model }
        if let reason = string(fields[1]) { result.stopReason = reason }
        anthropicUsage(fields[2], into: &result)
    }

    // MARK: OpenAI Chat Completions

    /// `usage` of a chat.completion or of the final chunk (only sent when stream_options.include_usage asks).
    /// Earlier chunks may carry `"usage": null`, which must not erase anything.
    static func openAIUsage(_ usage: JSONView?, into result: inout Usage) {
        guard let usage, usage.isObject else { return }
        result.inputIncludesCacheRead = true
        let fields = usage.members(["prompt_tokens", "completion_tokens", "prompt_tokens_details"])
        if let n = fields[0]?.int { result.inputTokens = n }
        if let n = fields[1]?.int { result.outputTokens = n }
        if let details = fields[2], details.isObject, let n = details["cached_tokens"]?.int {
            result.cacheReadInputTokens = n
        }
    }

    /// True for a chat.completion or chat.completion.chunk (they have no "type" field to dispatch on).
    static func isOpenAIChat(_ object: JSONView) -> Bool {
        if let kind = object["object"]?.stringValue { return kind.hasPrefix("chat.completion") }
        return object["choices"]?.arrayValue != nil
    }

    /// The choice whose text is "the answer": index 0. With n > 1 the chunks of several choices interleave,
    /// and joining them would make a text nobody received.
    static func firstChoice(_ object: JSONView) -> JSONView? {
        guard let choices = object["choices"]?.arrayValue else { return nil }
        for choice in choices where choice.isObject && (choice["index"]?.int ?? 0) == 0 { return choice }
        return nil
    }
}
