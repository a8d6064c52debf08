// JSON parsed by Foundation into `[String: Any]`, for the readers of finished records (the OTLP span, its GenAI
// messages), which are not on the logger's path; the logger itself reads API events with `JSONValue`.
import Foundation

extension APIShapes {
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

    /// True for a chat.completion or chat.completion.chunk (they have no "type" field to dispatch on).
    static func isOpenAIChat(_ object: [String: Any]) -> Bool {
        if let kind = object["object"] as? String { return kind.hasPrefix("chat.completion") }
        return object["choices"] is [Any]
    }
}
