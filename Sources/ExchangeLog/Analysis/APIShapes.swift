// How the Anthropic Messages and OpenAI Chat Completions JSON shapes map onto Usage, shared by the streaming
// (SSEAnalyzer) and whole-body (JSONBodyUsage) readers so both read a field the same way.

enum APIShapes {
    /// Parses one JSON object; nil for anything else (malformed, cut off, a bare value).
    static func object(json bytes: some Collection<UInt8>) -> JSONValue? {
        let value = bytes.withContiguousStorageIfAvailable { JSONValue.parse(UnsafeRawBufferPointer($0)) }
            ?? JSONValue.parse(Array(bytes))
        guard let value, value.isObject else { return nil }
        return value
    }

    /// A non-empty string; `null`, absent and "" all read as "not said".
    static func string(_ value: JSONValue?) -> String? {
        guard let s = value?.stringValue, !s.isEmpty else { return nil }
        return s
    }

    // MARK: Anthropic Messages

    /// `usage` of a message (message_start, a whole message) or of message_delta. Newer API versions repeat
    /// cumulative input and cache counts in message_delta, so the latest non-null value wins field by field.
    static func anthropicUsage(_ usage: JSONValue?, into result: inout Usage) {
        guard let usage, usage.isObject else { return }
        if let n = usage["input_tokens"]?.int { result.inputTokens = n }
        if let n = usage["output_tokens"]?.int { result.outputTokens = n }
        if let n = usage["cache_read_input_tokens"]?.int { result.cacheReadInputTokens = n }
        if let n = usage["cache_creation_input_tokens"]?.int { result.cacheCreationInputTokens = n }
    }

    /// A whole message object, as message_start carries it or a non-streaming answer is.
    static func anthropicMessage(_ message: JSONValue, into result: inout Usage) {
        if let model = string(message["model"]) { result.model = model }
        if let reason = string(message["stop_reason"]) { result.stopReason = reason }
        anthropicUsage(message["usage"], into: &result)
    }

    // MARK: OpenAI Chat Completions

    /// `usage` of a chat.completion or of the final chunk (only sent when stream_options.include_usage asks).
    /// Earlier chunks may carry `"usage": null`, which must not erase anything.
    static func openAIUsage(_ usage: JSONValue?, into result: inout Usage) {
        guard let usage, usage.isObject else { return }
        result.inputIncludesCacheRead = true
        if let n = usage["prompt_tokens"]?.int { result.inputTokens = n }
        if let n = usage["completion_tokens"]?.int { result.outputTokens = n }
        if let details = usage["prompt_tokens_details"], details.isObject, let n = details["cached_tokens"]?.int {
            result.cacheReadInputTokens = n
        }
    }

    /// True for a chat.completion or chat.completion.chunk (they have no "type" field to dispatch on).
    static func isOpenAIChat(_ object: JSONValue) -> Bool {
        if let kind = object["object"]?.stringValue { return kind.hasPrefix("chat.completion") }
        return object["choices"]?.arrayValue != nil
    }

    /// The choice whose text is "the answer": index 0. With n > 1 the chunks of several choices interleave,
    /// and joining them would make a text nobody received.
    static func firstChoice(_ object: JSONValue) -> JSONValue? {
        guard let choices = object["choices"]?.arrayValue else { return nil }
        for choice in choices where choice.isObject && (choice["index"]?.int ?? 0) == 0 { return choice }
        return nil
    }
}
