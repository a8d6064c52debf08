// Usage and answer text of a non-streaming answer: an Anthropic message or an OpenAI chat.completion, read
// from the whole (inflated) body once the exchange has ended.

public enum JSONBodyUsage {
    /// `text` is nil when the body holds no answer text at all (an error body, a tool-only answer, not JSON);
    /// "" means the upstream answered with empty text.
    public static func analyze(_ body: [UInt8]) -> (usage: Usage, text: String?) {
        body.withUnsafeBytes { data in
            guard let object = JSONView.validated(data), object.isObject else { return (Usage(), nil) }
            return analyze(object)
        }
    }

    private static func analyze(_ object: JSONView) -> (usage: Usage, text: String?) {
        var usage = Usage()
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
    /// `knownModel`: a model name the caller holds (the last one seen); when the answer names the same, that string
    /// is used rather than a new one (a name past 15 bytes is a heap string, made and freed per record otherwise).
    public static func usage(_ body: [UInt8], knownModel: String? = nil) -> Usage {
        var usage = Usage()
        read(body, knownModel: knownModel, into: &usage)
        return usage
    }

    /// As `usage`, into the caller's (empty) Usage: filled in place, as a Usage returned through the byte closure
    /// was copied twice, and each copy retains its strings (a model name past 15 bytes is on the heap).
    static func read(_ body: [UInt8], knownModel: String?, into usage: inout Usage) {
        body.withUnsafeBytes { read($0, knownModel: knownModel, into: &usage) }
    }

    private static func read(_ data: UnsafeRawBufferPointer, knownModel: String?, into usage: inout Usage) {
        // As APIShapes.isOpenAIChat: a string "object" decides alone; without one, a "choices" array does.
        var objectSaysOpenAI: Bool?
        var hasChoicesArray = false
        var choicesValue: Range<Int>?
        // Strings are decoded once the object is known to be whole (a key given twice: the last one counts).
        var modelValue: Range<Int>?
        var stopReasonValue: Range<Int>?
        // The last "usage" member, read where the scan meets it (which API's shape it has is known only at the end).
        // (`usageIsObject`: its value is an object; `usageWhole`: a well-formed one, whose counts stand.)
        var usageIsObject = false
        var usageWhole = false
        var anthropic = Counts()
        var openAI = Counts()
        let whole = TopLevelScanner.forEachMember(data, reading: { key, valueStart in
            if TopLevelScanner.isKey(key, "usage") {
                usageIsObject = valueStart < data.count && data[valueStart] == UInt8(ascii: "{")
                anthropic = Counts()
                openAI = Counts()
                let end = usageIsObject ? readUsageObject(data, at: valueStart, anthropic: &anthropic, openAI: &openAI) : nil
                usageWhole = end != nil
                return end ?? TopLevelScanner.skipValue(data, valueStart)
            }
            guard let valueEnd = TopLevelScanner.skipValue(data, valueStart) else { return nil }
            let value = valueStart..<valueEnd
            if TopLevelScanner.isKey(key, "model") {
                modelValue = value
            } else if TopLevelScanner.isKey(key, "stop_reason") {
                stopReasonValue = value
            } else if TopLevelScanner.isKey(key, "choices") {
                choicesValue = value
                hasChoicesArray = data[value.lowerBound] == UInt8(ascii: "[")
            } else if TopLevelScanner.isKey(key, "object") {
                objectSaysOpenAI = TopLevelScanner.string(data, value).map { $0.hasPrefix("chat.completion") }
            }
            return valueEnd
        })
        guard whole != nil else { return }
        usage.model = modelValue.flatMap { TopLevelScanner.string(data, $0, known: knownModel) }.flatMap { $0.isEmpty ? nil : $0 }
        usage.stopReason = stopReasonValue.flatMap { TopLevelScanner.string(data, $0) }.flatMap { $0.isEmpty ? nil : $0 }
        if objectSaysOpenAI ?? hasChoicesArray {
            usage.stopReason = nil
            // As APIShapes: an object (not null, not a number) says the OpenAI convention, even with no counts in it.
            if usageIsObject {
                usage.inputIncludesCacheRead = true
                if usageWhole { openAI.apply(to: &usage) }
            }
            if let choices = choicesValue { usage.stopReason = firstChoiceFinishReason(data, choices) }
        } else if usageWhole {
            anthropic.apply(to: &usage)
        }
    }

    /// The usage object at `start` read member by member, as APIShapes reads it from a parsed object (tests hold the
    /// two to the same answers), in both APIs' names at once; returns just after it, or nil when it is not
    /// well-formed (then what it gave is dropped). A profile showed the JSON parser on this small object as a third
    /// of the logger's work per small JSON exchange, and reading it apart from the scan that passed over it, a fifth
    /// of what was left.
    private static func readUsageObject(_ data: UnsafeRawBufferPointer, at start: Int,
                                        anthropic: inout Counts, openAI: inout Counts) -> Int? {
        TopLevelScanner.forEachMember(data, from: start) { key, value in
            if TopLevelScanner.isKey(key, "input_tokens") {
                if let n = integer(data, value) { anthropic.input = n }
            } else if TopLevelScanner.isKey(key, "output_tokens") {
                if let n = integer(data, value) { anthropic.output = n }
            } else if TopLevelScanner.isKey(key, "cache_read_input_tokens") {
                if let n = integer(data, value) { anthropic.cacheRead = n }
            } else if TopLevelScanner.isKey(key, "cache_creation_input_tokens") {
                if let n = integer(data, value) { anthropic.cacheCreation = n }
            } else if TopLevelScanner.isKey(key, "prompt_tokens") {
                if let n = integer(data, value) { openAI.input = n }
            } else if TopLevelScanner.isKey(key, "completion_tokens") {
                if let n = integer(data, value) { openAI.output = n }
            } else if TopLevelScanner.isKey(key, "prompt_tokens_details") {
                // Its cached tokens count only when the whole details object is well-formed.
                var cached: Int?
                let details = UnsafeRawBufferPointer(rebasing: data[..<value.upperBound])
                let whole = !value.isEmpty && data[value.lowerBound] == UInt8(ascii: "{")
                    && TopLevelScanner.forEachMember(details, from: value.lowerBound) { key, value in
                        if TopLevelScanner.isKey(key, "cached_tokens"), let n = integer(data, value) { cached = n }
                    } != nil
                if whole, let cached { openAI.cacheRead = cached }
            }
        }
    }

    /// The counts one usage object gave, kept apart from a Usage until the object is known to be whole (copying a
    /// Usage to try them on would retain its strings).
    private struct Counts {
        var input: Int?
        var output: Int?
        var cacheRead: Int?
        var cacheCreation: Int?

        func apply(to usage: inout Usage) {
            if let input { usage.inputTokens = input }
            if let output { usage.outputTokens = output }
            if let cacheRead { usage.cacheReadInputTokens = cacheRead }
            if let cacheCreation { usage.cacheCreationInputTokens = cacheCreation }
        }
    }

    /// An integral JSON number ("12", "12.0", "1.2e1"); nil for fractions, out-of-range values and non-numbers.
    private static func integer(_ data: UnsafeRawBufferPointer, _ value: Range<Int>) -> Int? {
        // Plain digits (what the APIs send) without a String; anything else as before.
        if !value.isEmpty, value.count <= 18 {
            var n = 0
            var plain = true
            for at in value {
                let byte = data[at]
                guard byte >= 0x30 && byte <= 0x39 else { plain = false; break }
                n = n &* 10 &+ Int(byte &- 0x30)
            }
            if plain { return n }
        }
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
                    // As APIShapes.firstChoice reads it: an index that is not an integral number (or is out of Int's
                    // range) counts as 0.
                    index = JSONView(data: data, range: member.value).int ?? 0
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
