// Usage and answer text of a non-streaming answer: an Anthropic message or an OpenAI chat.completion, read
// from the whole (inflated) body once the exchange has ended.

public enum JSONBodyUsage {
    /// `text` is nil when the body holds no answer text at all (an error body, a tool-only answer, not JSON);
    /// "" means the upstream answered with empty text.
    public static func analyze(_ body: [UInt8]) -> (usage: Usage, text: String?) {
        var usage = Usage()
        guard let object = APIShapes.object(json: body) else { return (usage, nil) }
        if APIShapes.isOpenAIChat(object) {
            if let model = APIShapes.string(object["model"]) { usage.model = model }
            APIShapes.openAIUsage(object["usage"], into: &usage)
            guard let choice = APIShapes.firstChoice(object) else { return (usage, nil) }
            if let reason = APIShapes.string(choice["finish_reason"]) { usage.stopReason = reason }
            guard let message = choice["message"], message.isObject else { return (usage, nil) }
            return (usage, message["content"]?.stringValue)
        }
        // Anthropic: a message, whose content is a list of blocks; only text blocks are the answer, and the
        // SDKs join them without a separator.
        APIShapes.anthropicMessage(object, into: &usage)
        guard let content = object["content"]?.arrayValue else { return (usage, nil) }
        var text: String? = nil
        for block in content where block.isObject && block["type"]?.stringValue == "text" {
            text = (text ?? "") + (block["text"]?.stringValue ?? "")
        }
        return (usage, text)
    }

    /// The usage alone, as `analyze` reads it, without parsing the answer's text: top-level members are found
    /// by `TopLevelScanner` and only the small `usage` object goes through the JSON parser.
    public static func usage(_ body: [UInt8]) -> Usage {
        body.withUnsafeBytes { data -> Usage in
            var usage = Usage()
            guard let members = TopLevelScanner.members(data) else { return usage }
            // As APIShapes.isOpenAIChat: a string "object" decides alone; without one, a "choices" array does.
            var objectSaysOpenAI: Bool?
            var hasChoicesArray = false
            var usageValue: Range<Int>?
            var choicesValue: Range<Int>?
            for member in members {
                // A key given twice: the last one counts, as in the parsed object.
                if TopLevelScanner.isKey(member.key, "model") {
                    usage.model = TopLevelScanner.string(data, member.value).flatMap { $0.isEmpty ? nil : $0 }
                } else if TopLevelScanner.isKey(member.key, "stop_reason") {
                    usage.stopReason = TopLevelScanner.string(data, member.value).flatMap { $0.isEmpty ? nil : $0 }
                } else if TopLevelScanner.isKey(member.key, "usage") {
                    usageValue = member.value
                } else if TopLevelScanner.isKey(member.key, "choices") {
                    choicesValue = member.value
                    hasChoicesArray = data[member.value.lowerBound] == UInt8(ascii: "[")
                } else if TopLevelScanner.isKey(member.key, "object") {
                    objectSaysOpenAI = TopLevelScanner.string(data, member.value).map { $0.hasPrefix("chat.completion") }
                }
            }
            if objectSaysOpenAI ?? hasChoicesArray {
                usage.stopReason = nil
                if let usageValue { openAIUsage(data, usageValue, into: &usage) }
                if let choices = choicesValue { usage.stopReason = firstChoiceFinishReason(data, choices) }
            } else if let usageValue {
                anthropicUsage(data, usageValue, into: &usage)
            }
            return usage
        }
    }

    // The usage objects member by member, as APIShapes reads them from a parsed object (tests hold the two
    // to the same answers): a profile showed the JSON parser on this small object as a third of the logger's
    // work per small JSON exchange.

    private static func anthropicUsage(_ data: UnsafeRawBufferPointer, _ value: Range<Int>, into usage: inout Usage) {
        readCounts(data, value, [("input_tokens", \.inputTokens), ("output_tokens", \.outputTokens),
                                 ("cache_read_input_tokens", \.cacheReadInputTokens),
                                 ("cache_creation_input_tokens", \.cacheCreationInputTokens)], into: &usage)
    }

    private static func openAIUsage(_ data: UnsafeRawBufferPointer, _ value: Range<Int>, into usage: inout Usage) {
        // As APIShapes: an object (not null, not a number) says the OpenAI convention, even with no counts in it.
        guard !value.isEmpty, data[value.lowerBound] == UInt8(ascii: "{") else { return }
        usage.inputIncludesCacheRead = true
        readCounts(data, value, [("prompt_tokens", \.inputTokens), ("completion_tokens", \.outputTokens)], into: &usage)
        for member in objectMembers(data, value) where TopLevelScanner.isKey(member.key, "prompt_tokens_details") {
            readCounts(data, member.value, [("cached_tokens", \.cacheReadInputTokens)], into: &usage)
        }
    }

    /// Each named member of the object at `value` that holds an integral number sets its field.
    private static func readCounts(_ data: UnsafeRawBufferPointer, _ value: Range<Int>,
                                   _ fields: [(name: StaticString, field: WritableKeyPath<Usage, Int?>)], into usage: inout Usage) {
        for member in objectMembers(data, value) {
            for (name, field) in fields where TopLevelScanner.isKey(member.key, name) {
                if let n = integer(data, member.value) { usage[keyPath: field] = n }
            }
        }
    }

    /// The members of the object at `value`; none when it is not an object (`null`, a number, malformed).
    private static func objectMembers(_ data: UnsafeRawBufferPointer, _ value: Range<Int>) -> [(key: UnsafeRawBufferPointer, value: Range<Int>)] {
        guard !value.isEmpty, data[value.lowerBound] == UInt8(ascii: "{") else { return [] }
        return TopLevelScanner.members(UnsafeRawBufferPointer(rebasing: data[..<value.upperBound]), from: value.lowerBound) ?? []
    }

    /// An integral JSON number ("12", "12.0", "1.2e1"); nil for fractions, out-of-range values and non-numbers.
    private static func integer(_ data: UnsafeRawBufferPointer, _ value: Range<Int>) -> Int? {
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: data[value]), as: UTF8.self)
        if let n = Int(text) { return n }
        guard let first = text.utf8.first, first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
              let d = Double(text) else { return nil }
        return Int(exactly: d)
    }

    /// `finish_reason` of the choice with index 0 (or without an index), read member by member.
    private static func firstChoiceFinishReason(_ data: UnsafeRawBufferPointer, _ choices: Range<Int>) -> String? {
        var i = TopLevelScanner.skipSpace(data, choices.lowerBound + 1)
        while i < choices.upperBound, data[i] == UInt8(ascii: "{") {
            guard let end = TopLevelScanner.skipValue(data, i),
                  let members = TopLevelScanner.members(UnsafeRawBufferPointer(rebasing: data[..<end]), from: i) else { return nil }
            var index = 0
            var reason: String?
            for member in members {
                if TopLevelScanner.isKey(member.key, "index") {
                    index = Int(String(decoding: UnsafeRawBufferPointer(rebasing: data[member.value]), as: UTF8.self)) ?? -1
                } else if TopLevelScanner.isKey(member.key, "finish_reason") {
                    reason = TopLevelScanner.string(data, member.value)
                }
            }
            if index == 0 { return reason?.isEmpty == false ? reason : nil }
            i = TopLevelScanner.skipSpace(data, end)
            guard i < choices.upperBound, data[i] == UInt8(ascii: ",") else { return nil }
            i = TopLevelScanner.skipSpace(data, i + 1)
        }
        return nil
    }
}
