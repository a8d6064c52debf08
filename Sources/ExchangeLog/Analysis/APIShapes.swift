// How the Anthropic Messages and OpenAI Chat Completions JSON shapes map onto Usage, shared by the streaming
// (SSEAnalyzer) and whole-body (JSONBodyUsage) readers so both read a field the same way.

/// What the readers below need of a JSON value: JSONValue (a parsed tree) and JSONView (bytes checked in place) both
/// answer it, so the two read every field the same way.
protocol JSONNode {
    subscript(_ key: String) -> Self? { get }
    /// The object's members with these names, in the order asked (each the last of its name, as `subscript`); all nil
    /// when it is not an object. One pass over the members, however many names.
    func members(_ names: [StaticString]) -> [Self?]
    var stringValue: String? { get }
    var int: Int? { get }
    var isObject: Bool { get }
    var arrayValue: [Self]? { get }
}

extension JSONValue: JSONNode {
    func members(_ names: [StaticString]) -> [JSONValue?] {
        names.map { self[String(describing: $0)] }
    }
}

extension JSONView: JSONNode {}

enum APIShapes {
    /// Parses one JSON object; nil for anything else (malformed, cut off, a bare value).
    static func object(json bytes: some Collection<UInt8>) -> JSONValue? {
        let value = bytes.withContiguousStorageIfAvailable { JSONValue.parse(UnsafeRawBufferPointer($0)) }
            ?? JSONValue.parse(Array(bytes))
        guard let value, value.isObject else { return nil }
        return value
    }

    /// A non-empty string; `null`, absent and "" all read as "not said".
    static func string<Node: JSONNode>(_ value: Node?) -> String? {
        guard let s = value?.stringValue, !s.isEmpty else { return nil }
        return s
    }

    // MARK: Anthropic Messages

    /// `usage` of a message (message_start, a whole message) or of message_delta. Newer API versions repeat
    /// cumulative input and cache counts in message_delta, so the latest non-null value wins field by field.
    static func anthropicUsage<Node: JSONNode>(_ usage: Node?, into result: inout Usage) {
        guard let usage, usage.isObject else { return }
        let counts = usage.members(["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"])
        if let n = counts[0]?.int { result.inputTokens = n }
        if let n = counts[1]?.int { result.outputTokens = n }
        if let n = counts[2]?.int { result.cacheReadInputTokens = n }
        if let n = counts[3]?.int { result.cacheCreationInputTokens = n }
    }

    /// A whole message object, as message_start carries it or a non-streaming answer is.
    static func anthropicMessage<Node: JSONNode>(_ message: Node, into result: inout Usage) {
        let fields = message.members(["model", "stop_reason", "usage"])
        if let model = string(fields[0]) { result.model = model }
        if let reason = string(fields[1]) { result.stopReason = reason }
        anthropicUsage(fields[2], into: &result)
    }

    // MARK: OpenAI Chat Completions

    /// `usage` of a chat.completion or of the final chunk (only sent when stream_options.include_usage asks).
    /// Earlier chunks may carry `"usage": null`, which must not erase anything.
    static func openAIUsage<Node: JSONNode>(_ usage: Node?, into result: inout Usage) {
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
    static func isOpenAIChat<Node: JSONNode>(_ object: Node) -> Bool {
        if let kind = object["object"]?.stringValue { return kind.hasPrefix("chat.completion") }
        return object["choices"]?.arrayValue != nil
    }

    /// The choice whose text is "the answer": index 0. With n > 1 the chunks of several choices interleave,
    /// and joining them would make a text nobody received.
    static func firstChoice<Node: JSONNode>(_ object: Node) -> Node? {
        guard let choices = object["choices"]?.arrayValue else { return nil }
        for choice in choices where choice.isObject && (choice["index"]?.int ?? 0) == 0 { return choice }
        return nil
    }
}
