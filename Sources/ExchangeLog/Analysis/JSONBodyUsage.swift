// Usage and answer text of a non-streaming answer: an Anthropic message or an OpenAI chat.completion, read
// from the whole (inflated) body once the exchange has ended.

public enum JSONBodyUsage {
    /// `text` is nil when the body holds no answer text at all (an error body, a tool-only answer, not JSON);
    /// "" means the upstream answered with empty text.
    public static func analyze(_ body: [UInt8]) -> (usage: Usage, text: String?) {
        var usage = Usage()
        guard let object = APIShapes.object(body) else { return (usage, nil) }
        if APIShapes.isOpenAIChat(object) {
            if let model = APIShapes.string(object["model"]) { usage.model = model }
            APIShapes.openAIUsage(object["usage"] as? [String: Any], into: &usage)
            guard let choice = APIShapes.firstChoice(object) else { return (usage, nil) }
            if let reason = APIShapes.string(choice["finish_reason"]) { usage.stopReason = reason }
            return (usage, (choice["message"] as? [String: Any])?["content"] as? String)
        }
        // Anthropic: a message, whose content is a list of blocks; only text blocks are the answer, and the
        // SDKs join them without a separator.
        APIShapes.anthropicMessage(object, into: &usage)
        guard let content = object["content"] as? [Any] else { return (usage, nil) }
        var text: String? = nil
        for case let block as [String: Any] in content where block["type"] as? String == "text" {
            text = (text ?? "") + ((block["text"] as? String) ?? "")
        }
        return (usage, text)
    }
}
