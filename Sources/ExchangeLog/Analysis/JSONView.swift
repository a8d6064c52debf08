// A JSON value read over the bytes where they lie: checked once to be well-formed (JSONGrammar's pieces, plus a comma
// before a closing bracket, which Foundation's parser, used here before, also took), then members are found by
// TopLevelScanner and strings decoded only when asked for. For the few API events a record reads (message_start,
// message_delta, OpenAI chunks, whole answers), building a tree was a fifth of the logger's instructions per stream.

import Glibc

struct JSONView {
    let data: UnsafeRawBufferPointer
    /// The value's bytes (no whitespace around).
    let range: Range<Int>

    /// The whole of `bytes` as one well-formed value (whitespace around it allowed); nil for anything malformed.
    /// Valid only as long as `bytes`.
    static func validated(_ bytes: UnsafeRawBufferPointer) -> JSONView? {
        var checker = Checker(bytes: bytes)
        checker.skipSpace()
        let start = checker.at
        guard checker.value(depth: 0) else { return nil }
        let end = checker.at
        checker.skipSpace()
        guard checker.at == bytes.count else { return nil }
        return JSONView(data: bytes, range: start..<end)
    }

    private var first: UInt8 { data[range.lowerBound] }

    var isObject: Bool { first == UInt8(ascii: "{") }

    /// The object's member `key` (the last, when given twice); nil when absent or not an object.
    subscript(_ key: String) -> JSONView? {
        guard isObject else { return nil }
        var found: Range<Int>?
        var key = key
        _ = key.withUTF8 { wanted in
            TopLevelScanner.forEachMember(UnsafeRawBufferPointer(rebasing: data[..<range.upperBound]), from: range.lowerBound) { name, value in
                if Self.keyEquals(name, UnsafeRawBufferPointer(wanted)) { found = value }
            }
        }
        return found.map { JSONView(data: data, range: $0) }
    }

    func members(_ names: [StaticString]) -> [JSONView?] {
        var found = [Range<Int>?](repeating: nil, count: names.count)
        if isObject {
            TopLevelScanner.forEachMember(UnsafeRawBufferPointer(rebasing: data[..<range.upperBound]), from: range.lowerBound) { name, value in
                for (index, wanted) in names.enumerated()
                    where Self.keyEquals(name, UnsafeRawBufferPointer(start: wanted.utf8Start, count: wanted.utf8CodeUnitCount)) {
                    found[index] = value
                }
            }
        }
        return found.map { $0.map { JSONView(data: data, range: $0) } }
    }

    var stringValue: String? {
        guard first == UInt8(ascii: "\"") else { return nil }
        let inside = UnsafeRawBufferPointer(rebasing: data[(range.lowerBound + 1)..<(range.upperBound - 1)])
        if !inside.contains(UInt8(ascii: "\\")) { return String(decoding: inside, as: UTF8.self) }
        var decoded: [UInt8] = []
        guard DeltaFastPath.appendJSONString(data, from: range.lowerBound + 1, to: &decoded) != nil else { return nil }
        return String(decoding: decoded, as: UTF8.self)
    }

    /// An integral number ("12", "12.0", "1.2e1"); nil for fractions, out-of-range values and non-numbers.
    var int: Int? {
        let byte = first
        guard byte == UInt8(ascii: "-") || (byte >= 0x30 && byte <= 0x39) else { return nil }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: data[range]), as: UTF8.self)
        if let n = Int(text) { return n }
        return Double(text).flatMap { Int(exactly: $0) }
    }

    /// The array's items in order; nil when not an array.
    var arrayValue: [JSONView]? {
        guard first == UInt8(ascii: "[") else { return nil }
        var items: [JSONView] = []
        var i = TopLevelScanner.skipSpace(data, range.lowerBound + 1)
        while i < range.upperBound - 1, let end = TopLevelScanner.skipValue(data, i) {
            items.append(JSONView(data: data, range: i..<end))
            i = TopLevelScanner.skipSpace(data, end)
            guard i < range.upperBound, data[i] == UInt8(ascii: ",") else { break }
            i = TopLevelScanner.skipSpace(data, i + 1)
        }
        return items
    }

    /// A key as written (between its quotes) against a plain key: equal when it decodes to it.
    private static func keyEquals(_ name: UnsafeRawBufferPointer, _ wanted: UnsafeRawBufferPointer) -> Bool {
        if name.count == wanted.count, name.count > 0, memcmp(name.baseAddress!, wanted.baseAddress!, name.count) == 0 { return true }
        if name.isEmpty || wanted.isEmpty { return name.count == wanted.count }
        guard name.contains(UInt8(ascii: "\\")) else { return false }
        var decoded: [UInt8] = []
        // The key's bytes end just before its closing quote: decode them with the quote put back.
        var quoted = Array(name)
        quoted.append(UInt8(ascii: "\""))
        return quoted.withUnsafeBytes { DeltaFastPath.appendJSONString($0, from: 0, to: &decoded) } != nil
            && decoded.elementsEqual(wanted)
    }

    /// RFC 8259 plus a comma before a closing bracket, without building anything; strings as
    /// DeltaFastPath.appendJSONString decodes them (no raw control bytes, known escapes, paired surrogates, valid
    /// UTF-8).
    private struct Checker {
        let bytes: UnsafeRawBufferPointer
        var at = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func skipSpace() {
            at = JSONGrammar.skipSpace(bytes, at)
        }

        mutating func value(depth: Int) -> Bool {
            skipSpace()
            guard at < bytes.count, depth < 256 else { return false }
            switch bytes[at] {
            case UInt8(ascii: "{"): return container(depth: depth, close: UInt8(ascii: "}"), members: true)
            case UInt8(ascii: "["): return container(depth: depth, close: UInt8(ascii: "]"), members: false)
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            guard let end = JSONGrammar.literalEnd(bytes, at, word) else { return false }
            at = end
            return true
        }

        mutating func container(depth: Int, close: UInt8, members: Bool) -> Bool {
            at += 1
            skipSpace()
            if at < bytes.count, bytes[at] == close { at += 1; return true }
            while true {
                if members {
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: "\""), string() else { return false }
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { return false }
                    at += 1
                }
                guard value(depth: depth + 1) else { return false }
                skipSpace()
                guard at < bytes.count else { return false }
                if bytes[at] == close { at += 1; return true }
                guard bytes[at] == UInt8(ascii: ",") else { return false }
                at += 1
                skipSpace()
                if at < bytes.count, bytes[at] == close { at += 1; return true }
            }
        }

        mutating func string() -> Bool {
            guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
            at += 1
            while at < bytes.count {
                let byte = base[at]
                if byte == UInt8(ascii: "\"") { at += 1; return true }
                if byte < 0x20 { return false }
                if byte == UInt8(ascii: "\\") {
                    guard at + 1 < bytes.count else { return false }
                    let escape = base[at + 1]
                    at += 2
                    if JSONGrammar.simpleEscape(escape) != nil { continue }
                    guard escape == UInt8(ascii: "u"), let (_, end) = JSONGrammar.unicodeEscape(bytes, at) else { return false }
                    at = end
                } else if byte >= 0x80 {
                    let length = OutputBuffer.sequenceLength(base, at, bytes.count)
                    guard length > 0 else { return false }
                    at += length
                } else {
                    at += 1
                }
            }
            return false
        }

        mutating func number() -> Bool {
            guard let end = JSONGrammar.numberEnd(bytes, at) else { return false }
            at = end
            return true
        }
    }
}
