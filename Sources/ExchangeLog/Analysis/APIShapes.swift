// How the Anthropic Messages and OpenAI Chat Completions JSON shapes map onto Usage, shared by the streaming
// (SSEAnalyzer) and whole-body (JSONBodyUsage) readers so both read a field the same way.
import Foundation

enum APIShapes {
    /// Parses one JSON object; nil for anything else (malformed, cut off, a bare value).
    static func object(_ bytes: some Collection<UInt8>) -> [String: Any]? {
        guard let value = try? JSONSerialization.jsonObject(with: Data(bytes)) else { return nil }
        return value as? [String: Any]
    }

    /// JSONSerialization hands numbers back as NSNumber on Linux (Int/Double on Darwin); accept any integral
    /// spelling ("12", "12.0") and nothing fractional or out of range.
    static func int(_ value: Any?) -> Int? {
        switch value {
        case let v as Int: return v
        case let v as NSNumber: return Int(exactly: v.doubleValue)
        default: return nil
        }
    }

    /// A non-empty string; `null`, absent and "" all read as "not said".
    static func string(_ value: Any?) -> String? {
        guard let s = value as? String, !s.isEmpty else { return nil }
        return s
    }

    // MARK: Anthropic Messages

    /// `usage` of a message (message_start, a whole message) or of message_delta. Newer API versions repeat
    /// cumulative input and cache counts in message_delta, so the latest non-null value wins field by field.
    static func anthropicUsage(_ usage: [String: Any]?, into result: inout Usage) {
        guard let usage else { return }
        if let n = int(usage["input_tokens"]) { result.inputTokens = n }
        if let n = int(usage["output_tokens"]) { result.outputTokens = n }
        if let n = int(usage["cache_read_input_tokens"]) { result.cacheReadInputTokens = n }
        if let n = int(usage["cache_creation_input_tokens"]) { result.cacheCreationInputTokens = n }
    }

    /// A whole message object, as message_start carries it or a non-streaming answer is.
    static func anthropicMessage(_ message: [String: Any], into result: inout Usage) {
        if let model = string(message["model"]) { result.model = model }
        if let reason = string(message["stop_reason"]) { result.stopReason = reason }
        anthropicUsage(message["usage"] as? [String: Any], into: &result)
    }

    // MARK: OpenAI Chat Completions

    /// `usage` of a chat.completion or of the final chunk (only sent when stream_options.include_usage asks).
    /// Earlier chunks may carry `"usage": null`, which must not erase anything.
    static func openAIUsage(_ usage: [String: Any]?, into result: inout Usage) {
        guard let usage else { return }
        result.inputIncludesCacheRead = true
        if let n = int(usage["prompt_tokens"]) { result.inputTokens = n }
        if let n = int(usage["completion_tokens"]) { result.outputTokens = n }
        if let details = usage["prompt_tokens_details"] as? [String: Any],
           let n = int(details["cached_tokens"]) {
            result.cacheReadInputTokens = n
        }
    }

    /// True for a chat.completion or chat.completion.chunk (they have no "type" field to dispatch on).
    static func isOpenAIChat(_ object: [String: Any]) -> Bool {
        if let kind = object["object"] as? String { return kind.hasPrefix("chat.completion") }
        return object["choices"] is [Any]
    }

    /// The choice whose text is "the answer": index 0. With n > 1 the chunks of several choices interleave,
    /// and joining them would make a text nobody received.
    static func firstChoice(_ object: [String: Any]) -> [String: Any]? {
        guard let choices = object["choices"] as? [Any] else { return nil }
        for case let choice as [String: Any] in choices where (int(choice["index"]) ?? 0) == 0 { return choice }
        return nil
    }
}
