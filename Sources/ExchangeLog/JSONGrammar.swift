// The pieces of RFC 8259's grammar every JSON reader of the log shares (JSONTree's parser, JSONView's in-place
// check, DeltaFastPath's string decoder), written once so the readers cannot drift apart on what a number, a
// literal or an escape is. Each takes the bytes and an index and answers where the piece ends (nil: malformed).

package enum JSONGrammar {
    /// True when the whole of `text` is one JSON number (kgb ui checks the store's numbers before sending them).
    package static func isNumber(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { numberEnd(UnsafeRawBufferPointer($0), 0) == $0.count }
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// The first index at or after `at` that is not whitespace.
    @inline(__always)
    static func skipSpace(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> Int {
        var at = at
        while at < bytes.count, isSpace(bytes[at]) { at += 1 }
        return at
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` from `at`: the index just after it.
    static func numberEnd(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> Int? {
        var at = at
        func digits() -> Int {
            let from = at
            while at < bytes.count, bytes[at] >= 0x30, bytes[at] <= 0x39 { at += 1 }
            return at - from
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
        guard at < bytes.count else { return nil }
        if bytes[at] == UInt8(ascii: "0") {
            at += 1
        } else {
            guard digits() > 0 else { return nil }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            guard digits() > 0 else { return nil }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digits() > 0 else { return nil }
        }
        return at
    }

    /// `true`, `false` or `null` (whichever `word` is) at `at`: the index just after it.
    static func literalEnd(_ bytes: UnsafeRawBufferPointer, _ at: Int, _ word: StaticString) -> Int? {
        let length = word.utf8CodeUnitCount
        guard at + length <= bytes.count,
              DeltaFastPath.equals(UnsafeRawBufferPointer(rebasing: bytes[at..<at + length]), word) else { return nil }
        return at + length
    }

    /// The byte a one-letter escape (`\n`, `\"`, ...) stands for; nil for `u` and for letters that are no escape.
    static func simpleEscape(_ letter: UInt8) -> UInt8? {
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): letter
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "t"): 0x09
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        default: nil
        }
    }

    /// A `\u` escape whose hex digits start at `at`, a surrogate pair read as its one scalar: the scalar and the index
    /// after the escape. nil for a lone surrogate (it stands for no scalar).
    static func unicodeEscape(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> (scalar: Unicode.Scalar, end: Int)? {
        guard var code = hex4(bytes, at) else { return nil }
        var end = at + 4
        if (0xD800..<0xDC00).contains(code) {
            guard end + 6 <= bytes.count, bytes[end] == UInt8(ascii: "\\"), bytes[end + 1] == UInt8(ascii: "u"),
                  let low = hex4(bytes, end + 2), (0xDC00..<0xE000).contains(low) else { return nil }
            end += 6
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(code) else { return nil }
        return (scalar, end)
    }

    /// The four hex digits of a `\u` escape at `at`.
    static func hex4(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt32? {
        guard at + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for byte in bytes[at..<at + 4] {
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }
}
