// Finds the members of a JSON object without parsing their values: the usage of a non-streamed answer sits in
// a few small top-level members, and parsing the whole answer (its text included) for them was half the
// logger's time per exchange. Values are skipped by matching brackets outside strings.

import Glibc

enum TopLevelScanner {
    /// The members of the object starting at `start` (after leading whitespace), as raw key bytes and the byte
    /// range of each value; nil when the bytes are not a well-formed object at this level.
    static func members(_ data: UnsafeRawBufferPointer, from start: Int = 0) -> [(key: UnsafeRawBufferPointer, value: Range<Int>)]? {
        var members: [(key: UnsafeRawBufferPointer, value: Range<Int>)] = []
        guard forEachMember(data, from: start, { members.append(($0, $1)) }) != nil else { return nil }
        return members
    }

    /// Hands each member of the object at `start` to `body` in order, without collecting them; returns the index
    /// just after the object, or nil when it is not well-formed at this level (members already handed stay handed).
    @discardableResult
    static func forEachMember(_ data: UnsafeRawBufferPointer, from start: Int = 0,
                              _ body: (_ key: UnsafeRawBufferPointer, _ value: Range<Int>) -> Void) -> Int? {
        forEachMember(data, from: start, reading: { key, valueStart in
            guard let valueEnd = skipValue(data, valueStart) else { return nil }
            body(key, valueStart..<valueEnd)
            return valueEnd
        })
    }

    /// As `forEachMember`, with `read` taking each key and where its value starts, and answering where the value
    /// ends (nil: not a value), so a member worth reading is read in the same pass that passes over it
    /// (`skipValue` for the others).
    @discardableResult
    @inline(__always)
    static func forEachMember(_ data: UnsafeRawBufferPointer, from start: Int = 0,
                              reading read: (_ key: UnsafeRawBufferPointer, _ valueStart: Int) -> Int?) -> Int? {
        var i = skipSpace(data, start)
        guard i < data.count, data[i] == UInt8(ascii: "{") else { return nil }
        i = skipSpace(data, i + 1)
        if i < data.count && data[i] == UInt8(ascii: "}") { return i + 1 }
        while i < data.count {
            guard data[i] == UInt8(ascii: "\""), let keyEnd = skipString(data, i) else { return nil }
            let key = UnsafeRawBufferPointer(rebasing: data[(i + 1)..<(keyEnd - 1)])
            i = skipSpace(data, keyEnd)
            guard i < data.count, data[i] == UInt8(ascii: ":") else { return nil }
            guard let valueEnd = read(key, skipSpace(data, i + 1)) else { return nil }
            i = skipSpace(data, valueEnd)
            guard i < data.count else { return nil }
            if data[i] == UInt8(ascii: "}") { return i + 1 }
            guard data[i] == UInt8(ascii: ",") else { return nil }
            i = skipSpace(data, i + 1)
            // Foundation's parser takes a comma before the closing brace; so does this reader, to agree with it.
            if i < data.count && data[i] == UInt8(ascii: "}") { return i + 1 }
        }
        return nil
    }

    @inline(__always)
    static func skipSpace(_ data: UnsafeRawBufferPointer, _ from: Int) -> Int {
        var i = from
        while i < data.count, data[i] == 0x20 || data[i] == 0x0a || data[i] == 0x0d || data[i] == 0x09 { i += 1 }
        return i
    }

    /// From an opening quote to just after its closing quote (an escape's second byte is never the end). Inlined:
    /// most strings here are short keys, where a call cost as much as the scan.
    @inline(__always)
    static func skipString(_ data: UnsafeRawBufferPointer, _ from: Int) -> Int? {
        guard let base = data.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var i = from + 1
        let count = data.count
        while i < count {
            // Eight bytes at a time to the next quote or backslash (strings here run to whole answers).
            while i + 8 <= count {
                let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                let hits = SWAR.zeroBytes(word ^ SWAR.repeated(0x22)) | SWAR.zeroBytes(word ^ SWAR.repeated(0x5C))
                if hits != 0 {
                    i += hits.trailingZeroBitCount >> 3
                    break
                }
                i += 8
            }
            guard i < count else { return nil }
            let byte = base[i]
            if byte == UInt8(ascii: "\"") { return i + 1 }
            i += byte == UInt8(ascii: "\\") ? 2 : 1
        }
        return nil
    }

    /// From the first byte of a value to just after it.
    static func skipValue(_ data: UnsafeRawBufferPointer, _ from: Int) -> Int? {
        guard from < data.count, let base = data.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        switch data[from] {
        case UInt8(ascii: "\""):
            return skipString(data, from)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = from
            let count = data.count
            while i < count {
                // To the next quote or bracket, eight bytes at a time ('[' | 0x20 is '{', ']' | 0x20 is '}').
                while i + 8 <= count {
                    let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                    let folded = word | SWAR.repeated(0x20)
                    let hits = SWAR.zeroBytes(word ^ SWAR.repeated(0x22)) | SWAR.zeroBytes(folded ^ SWAR.repeated(0x7B))
                        | SWAR.zeroBytes(folded ^ SWAR.repeated(0x7D))
                    if hits != 0 {
                        i += hits.trailingZeroBitCount >> 3
                        break
                    }
                    i += 8
                }
                guard i < count else { return nil }
                switch base[i] {
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

    /// The value of a member holding a JSON string, decoded; nil for null, other types or malformed text. `known`
    /// is returned itself when the value is its text (no new string made).
    static func string(_ data: UnsafeRawBufferPointer, _ value: Range<Int>, known: String? = nil) -> String? {
        guard !value.isEmpty, data[value.lowerBound] == UInt8(ascii: "\"") else { return nil }
        // Printable ASCII up to the closing quote (a model name, a stop reason): the bytes are the string, made
        // without the decoding buffer (an array allocated per string).
        // Eight bytes at a time to the first byte that is not plain (DEL is plain here: a string of it is the same).
        var end = value.lowerBound + 1
        if let base = data.baseAddress {
            while end &+ 8 <= data.count {
                let flags = SWAR.jsonAttention(base.loadUnaligned(fromByteOffset: end, as: UInt64.self))
                if flags != 0 {
                    end &+= flags.trailingZeroBitCount &>> 3
                    break
                }
                end &+= 8
            }
        }
        while end < data.count, data[end] >= 0x20, data[end] < 0x80, data[end] != UInt8(ascii: "\\"), data[end] != UInt8(ascii: "\"") {
            end += 1
        }
        if end < data.count, data[end] == UInt8(ascii: "\"") {
            let text = UnsafeRawBufferPointer(rebasing: data[(value.lowerBound + 1)..<end])
            if var known, known.utf8.count == text.count,
               known.withUTF8({ text.isEmpty || memcmp($0.baseAddress!, text.baseAddress!, text.count) == 0 }) {
                return known
            }
            return String(decoding: text, as: UTF8.self)
        }
        var out: [UInt8] = []
        guard DeltaFastPath.appendJSONString(data, from: value.lowerBound + 1, to: &out) != nil else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    static func isKey(_ key: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        DeltaFastPath.equals(key, name)
    }
}

/// Byte tests on eight bytes at once.
enum SWAR {
    @inline(__always)
    static func repeated(_ byte: UInt8) -> UInt64 { 0x0101_0101_0101_0101 &* UInt64(byte) }

    /// The high bit set in the bytes of `word` that are below 0x20, a quote, a backslash or above 0x7F (the classic
    /// "has a zero byte" tests: a borrow may flag bytes above a flagged one, so only the lowest flag is exact).
    @inline(__always)
    static func jsonAttention(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let below20 = (word &- ones &* 0x20) & ~word
        return (below20 | zeroBytes(word ^ repeated(0x22)) | zeroBytes(word ^ repeated(0x5C)) | word) & 0x8080_8080_8080_8080
    }

    /// The high bit of each zero byte of `x` set (bytes above the first zero byte may be flagged too, by borrows:
    /// the lowest flag, which callers use, is exact).
    @inline(__always)
    static func zeroBytes(_ x: UInt64) -> UInt64 {
        (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
    }
}
