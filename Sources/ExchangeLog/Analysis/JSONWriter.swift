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
    /// they end lines in JavaScript before ES2019 and in some log viewers.
    private mutating func escape(_ utf8: UnsafeBufferPointer<UInt8>) {
        // Written through a raw pointer into room reserved for the worst case (6 bytes per input byte, for
        // \u00XX): SSE bodies escape every few bytes, and an Array append per run was the logger's top cost.
        let count = utf8.count
        let worst = count * 6 + 2
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: worst)
        defer { out.deallocate() }
        var n = 0
        out[n] = UInt8(ascii: "\""); n += 1
        var i = 0
        while i < count {
            let byte = utf8[i]
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte != 0xE2 {
                out[n] = byte; n += 1; i += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out[n] = UInt8(ascii: "\\"); out[n + 1] = byte; n += 2
            case 0x08: out[n] = UInt8(ascii: "\\"); out[n + 1] = UInt8(ascii: "b"); n += 2
            case 0x0C: out[n] = UInt8(ascii: "\\"); out[n + 1] = UInt8(ascii: "f"); n += 2
            case 0x0A: out[n] = UInt8(ascii: "\\"); out[n + 1] = UInt8(ascii: "n"); n += 2
            case 0x0D: out[n] = UInt8(ascii: "\\"); out[n + 1] = UInt8(ascii: "r"); n += 2
            case 0x09: out[n] = UInt8(ascii: "\\"); out[n + 1] = UInt8(ascii: "t"); n += 2
            case 0xE2 where i + 2 < count && utf8[i + 1] == 0x80 && (utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9):
                // U+2028 / U+2029 → \u2028 / \u2029
                for (k, c) in "\\u202".utf8.enumerated() { out[n + k] = c }
                out[n + 5] = utf8[i + 2] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9")
                n += 6
                i += 2
            case 0xE2:
                out[n] = byte; n += 1
            default:
                // Other C0 controls have no short form: \u00XX.
                for (k, c) in "\\u00".utf8.enumerated() { out[n + k] = c }
                out[n + 4] = hexDigit(byte >> 4)
                out[n + 5] = hexDigit(byte & 0x0F)
                n += 6
            }
            i += 1
        }
        out[n] = UInt8(ascii: "\""); n += 1
        bytes.append(contentsOf: UnsafeBufferPointer(start: out, count: n))
    }

    private func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
