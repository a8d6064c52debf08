// JSON written by hand, so the bytes of every response are exactly the same from run to run (no key
// reordering, no float formatting) and match the shapes of the real APIs field for field.

enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }

    /// Adds `"mock_t_ns":<t>` as the last top-level field of a JSON object.
    static func stamped(_ object: String, _ timestamp: UInt64?) -> String {
        guard let timestamp, object.hasSuffix("}") else { return object }
        return String(object.dropLast()) + #","mock_t_ns":\#(timestamp)}"#
    }
}
