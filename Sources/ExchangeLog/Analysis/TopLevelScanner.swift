// Finds the members of a JSON object without parsing their values: the usage of a non-streamed answer sits in
// a few small top-level members, and parsing the whole answer (its text included) for them was half the
// logger's time per exchange. Values are skipped by matching brackets outside strings.

import Glibc

enum TopLevelScanner {
    /// The members of the object starting at `start` (after leading whitespace), as raw key bytes and the byte
    /// range of each value; nil when the bytes are not a well-formed object at this level.
    static func members(_ data: UnsafeRawBufferPointer, from start: Int = 0) -> [(key: UnsafeRawBufferPointer, value: Range<Int>)]? {
        var members: [(key: UnsafeRawBufferPointer, value: Range<Int>)] = []
        var i = skipSpace(data, start)
        guard i < data.count, data[i] == UInt8(ascii: "{") else { return nil }
        i = skipSpace(data, i + 1)
        if i < data.count && data[i] == UInt8(ascii: "}") { return members }
        while i < data.count {
            guard data[i] == UInt8(ascii: "\""), let keyEnd = skipString(data, i) else { return nil }
            let key = UnsafeRawBufferPointer(rebasing: data[(i + 1)..<(keyEnd - 1)])
            i = skipSpace(data, keyEnd)
            guard i < data.count, data[i] == UInt8(ascii: ":") else { return nil }
            let valueStart = skipSpace(data, i + 1)
            guard let valueEnd = skipValue(data, valueStart) else { return nil }
            members.append((key, valueStart..<valueEnd))
            i = skipSpace(data, valueEnd)
            guard i < data.count else { return nil }
            if data[i] == UInt8(ascii: "}") { return members }
            guard data[i] == UInt8(ascii: ",") else { return nil }
            i = skipSpace(data, i + 1)
            // Foundation's parser takes a comma before the closing brace; so does this reader, to agree with it.
            if i < data.count && data[i] == UInt8(ascii: "}") { return members }
        }
        return nil
    }

    static func skipSpace(_ data: UnsafeRawBufferPointer, _ from: Int) -> Int {
        var i = from
        while i < data.count, data[i] == 0x20 || data[i] == 0x0a || data[i] == 0x0d || data[i] == 0x09 { i += 1 }
        return i
    }

    /// From an opening quote to just after its closing quote.
    static func skipString(_ data: UnsafeRawBufferPointer, _ from: Int) -> Int? {
        // memchr to each quote (strings here are whole bodies, and a byte loop was most of a row mapping's time); a
        // quote after an odd run of backslashes is escaped.
        guard let base = data.baseAddress else { return nil }
        var i = from + 1
        while i < data.count, let hit = memchr(base + i, Int32(UInt8(ascii: "\"")), data.count - i) {
            let at = base.distance(to: UnsafeRawPointer(hit))
            var backslashes = 0
            while at - backslashes - 1 > from && data[at - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
            if backslashes % 2 == 0 { return at + 1 }
            i = at + 1
        }
        return nil
    }

    /// From the first byte of a value to just after it.
    static func skipValue(_ data: UnsafeRawBufferPointer, _ from: Int) -> Int? {
        guard from < data.count else { return nil }
        switch data[from] {
        case UInt8(ascii: "\""):
            return skipString(data, from)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = from
            while i < data.count {
                switch data[i] {
                case UInt8(ascii: "\""):
                    guard let end = skipString(data, i) else { return nil }
                    i = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default: break
                }
                i += 1
            }
            return nil
        default:
            // A number, true, false or null: up to the next delimiter.
            var i = from
            while i < data.count, data[i] != UInt8(ascii: ","), data[i] != UInt8(ascii: "}"), data[i] != UInt8(ascii: "]"),
                  data[i] != 0x20, data[i] != 0x0a, data[i] != 0x0d, data[i] != 0x09 { i += 1 }
            return i > from ? i : nil
        }
    }

    /// The value of a member holding a JSON string, decoded; nil for null, other types or malformed text.
    static func string(_ data: UnsafeRawBufferPointer, _ value: Range<Int>) -> String? {
        guard !value.isEmpty, data[value.lowerBound] == UInt8(ascii: "\"") else { return nil }
        var out: [UInt8] = []
        guard DeltaFastPath.appendJSONString(data, from: value.lowerBound + 1, to: &out) != nil else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    static func isKey(_ key: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        DeltaFastPath.equals(key, name)
    }
}
