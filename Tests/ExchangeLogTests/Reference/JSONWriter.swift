// The tests' reference JSON writer: the straightforward escaper the logger used before OutputBuffer's
// eight-bytes-at-a-time one, kept here (not in the product, which no longer calls it) so the tests can check that
// OutputBuffer writes the same bytes on any input. RFC 8259 escaping, one JSON document as UTF-8 bytes.

public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// A value or key was written at this level, so the next one needs a comma first.
    private var needsComma = false
    /// A key was just written: its value follows after the colon, without a comma.
    private var afterKey = false
    /// Where strings are escaped before they are appended (one per writer, grown as needed).
    private let scratch = Scratch()

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
        value.withUTF8 { _ = escape($0, validating: false) }
    }

    /// `value` as a JSON string when it is valid UTF-8 (checked as it is escaped, in the same pass); otherwise
    /// writes nothing and answers false. Valid means what `String(validating:)` accepts: no overlongs,
    /// surrogates, scalars above U+10FFFF or truncated sequences.
    public mutating func string(ifValidUTF8 value: UnsafeBufferPointer<UInt8>) -> Bool {
        let (mark, comma, key) = (bytes.count, needsComma, afterKey)
        separate()
        guard escape(value, validating: true) else {
            bytes.removeSubrange(mark...)
            (needsComma, afterKey) = (comma, key)
            return false
        }
        needsComma = true
        return true
    }

    /// What `escape` does with each byte: 0 copy it; a letter or `"`/`\\`: write `\\` and that; `u`: `\\u00XX`;
    /// 0x80: the first byte of a multi-byte sequence (or not valid UTF-8 at all).
    private static let escapes: [UInt8] = (0...255).map { (byte: Int) -> UInt8 in
        switch byte {
        case 0x22, 0x5C: UInt8(byte)
        case 0x08: UInt8(ascii: "b")
        case 0x0C: UInt8(ascii: "f")
        case 0x0A: UInt8(ascii: "n")
        case 0x0D: UInt8(ascii: "r")
        case 0x09: UInt8(ascii: "t")
        case 0..<0x20: UInt8(ascii: "u")
        case 0x80...: 0x80
        default: 0
        }
    }

    /// RFC 8259 §7: quote, backslash and C0 controls must be escaped. U+2028 and U+2029 are escaped too, since
    /// they end lines in JavaScript before ES2019 and in some log viewers. With `validating`, answers false
    /// (having written nothing) at the first byte that is not part of valid UTF-8.
    private mutating func escape(_ utf8: UnsafeBufferPointer<UInt8>, validating: Bool) -> Bool {
        // Written through a raw pointer into the writer's scratch buffer, sized for the worst case (6 bytes per input
        // byte, for \u00XX) and kept from string to string (an allocation per string was a tenth of the logger's
        // instructions), then appended once. Runs of bytes that need no escape (most of any text) are copied whole.
        let count = utf8.count
        guard let input = utf8.baseAddress else {
            bytes.append(contentsOf: "\"\"".utf8)
            return true
        }
        let out = scratch.room(count * 6 + 2)
        let written = { () -> Int? in
            var n = 0
            out[n] = UInt8(ascii: "\""); n += 1
            var i = 0
            let ok = Self.escapes.withUnsafeBufferPointer { table -> Bool in
                while i < count {
                    var run = i
                    while run < count && table[Int(input[run])] == 0 { run += 1 }
                    if run > i {
                        (out + n).update(from: input + i, count: run - i)
                        n += run - i
                        i = run
                        if i == count { break }
                    }
                    let byte = input[i]
                    let action = table[Int(byte)]
                    if action != 0x80 && action != UInt8(ascii: "u") {
                        out[n] = UInt8(ascii: "\\"); out[n + 1] = action; n += 2; i += 1
                        continue
                    }
                    if action == UInt8(ascii: "u") {
                        // Other C0 controls have no short form: \u00XX.
                        out[n] = UInt8(ascii: "\\"); out[n + 1] = UInt8(ascii: "u")
                        out[n + 2] = UInt8(ascii: "0"); out[n + 3] = UInt8(ascii: "0")
                        out[n + 4] = Self.hexDigit(byte >> 4)
                        out[n + 5] = Self.hexDigit(byte & 0x0F)
                        n += 6
                        i += 1
                        continue
                    }
                    let length = validating ? Self.sequenceLength(input, i, count) : Self.leadLength(byte)
                    guard length > 0 else { return false }
                    if byte == 0xE2 && i + 2 < count && input[i + 1] == 0x80 && (input[i + 2] == 0xA8 || input[i + 2] == 0xA9) {
                        // U+2028 / U+2029 → \u2028 / \u2029
                        for (k, c) in "\\u202".utf8.enumerated() { out[n + k] = c }
                        out[n + 5] = input[i + 2] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9")
                        n += 6
                    } else {
                        for k in 0..<min(length, count - i) { out[n + k] = input[i + k] }
                        n += min(length, count - i)
                    }
                    i += length
                }
                return true
            }
            guard ok else { return nil }
            out[n] = UInt8(ascii: "\""); n += 1
            return n
        }()
        guard let written else { return false }
        bytes.append(contentsOf: UnsafeBufferPointer(start: out, count: written))
        return true
    }

    /// The length of the sequence a lead byte opens, for input already known to be valid UTF-8.
    private static func leadLength(_ byte: UInt8) -> Int {
        byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
    }

    /// The length of the well-formed UTF-8 sequence at `i` (Unicode §3.9, table 3-7), or 0 if there is none.
    private static func sequenceLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ count: Int) -> Int {
        let lead = p[i]
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF  // the allowed range of the second byte
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return 0
        }
        guard i + length <= count, p[i + 1] >= low, p[i + 1] <= high else { return 0 }
        for k in 2..<length where p[i + k] & 0xC0 != 0x80 { return 0 }
        return length
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}

/// A growable byte buffer a JSONWriter escapes into; a class so the writer's copies share it (one thread uses a
/// writer at a time).
final class Scratch: @unchecked Sendable {
    private var pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 4096)
    private var capacity = 4096

    /// Room for at least `count` bytes (the previous contents are not kept).
    func room(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        if count > capacity {
            pointer.deallocate()
            capacity = max(count, capacity * 2)
            pointer = .allocate(capacity: capacity)
        }
        return pointer
    }

    deinit { pointer.deallocate() }
}
