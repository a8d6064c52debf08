// Builds one JSON document (a log record) as UTF-8 bytes, with RFC 8259 escaping, no Foundation and no
// intermediate strings: the sinks write these bytes as they are.

public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// A value or key was written at this level, so the next one needs a comma first.
    private var needsComma = false
    /// A key was just written: its value follows after the colon, without a comma.
    private var afterKey = false

    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    // MARK: Structure

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    public mutating func key(_ name: String) {
        separate()
        quoted(name)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    // MARK: Values

    public mutating func string(_ value: String) {
        separate()
        quoted(value)
        needsComma = true
    }

    /// UTF-8 bytes as a JSON string. Invalid sequences become U+FFFD, so the document stays valid JSON; callers
    /// that must not lose bytes check first (see BodyEncoding).
    public mutating func string(bytes value: some Collection<UInt8>) {
        string(String(decoding: value, as: UTF8.self))
    }

    public mutating func int(_ value: Int) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    /// JSON has no NaN or infinity: those are written as null. Swift's description is the shortest text that
    /// reads back as the same Double, and always valid JSON ("1.0", "1e-07", "1e+16").
    public mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        bytes.append(contentsOf: value.description.utf8)
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
        needsComma = true
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }

    // MARK: Escaping

    private mutating func separate() {
        if afterKey {
            afterKey = false
        } else if needsComma {
            bytes.append(UInt8(ascii: ","))
        }
    }

    private mutating func quoted(_ value: String) {
        var value = value
        value.withUTF8 { escape($0) }
    }

    /// RFC 8259 §7: quote, backslash and C0 controls must be escaped. U+2028 and U+2029 are escaped too, since
    /// they end lines in JavaScript before ES2019 and in some log viewers. Runs of plain bytes are copied whole.
    private mutating func escape(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var plainStart = 0
        var i = 0
        let count = utf8.count
        while i < count {
            let byte = utf8[i]
            let escaped: StaticString?
            var skip = 1
            switch byte {
            case UInt8(ascii: "\""): escaped = "\\\""
            case UInt8(ascii: "\\"): escaped = "\\\\"
            case 0x08: escaped = "\\b"
            case 0x0C: escaped = "\\f"
            case 0x0A: escaped = "\\n"
            case 0x0D: escaped = "\\r"
            case 0x09: escaped = "\\t"
            case 0xE2 where i + 2 < count && utf8[i + 1] == 0x80 && utf8[i + 2] == 0xA8:
                escaped = "\\u2028"
                skip = 3
            case 0xE2 where i + 2 < count && utf8[i + 1] == 0x80 && utf8[i + 2] == 0xA9:
                escaped = "\\u2029"
                skip = 3
            case 0x00..<0x20: escaped = nil
            default:
                i += 1
                continue
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plainStart..<i]))
            if let escaped {
                bytes.append(contentsOf: UnsafeBufferPointer(start: escaped.utf8Start, count: escaped.utf8CodeUnitCount))
            } else {
                // Other C0 controls have no short form: \u00XX.
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(hexDigit(byte >> 4))
                bytes.append(hexDigit(byte & 0x0F))
            }
            i += skip
            plainStart = i
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plainStart..<count]))
        bytes.append(UInt8(ascii: "\""))
    }

    private func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
