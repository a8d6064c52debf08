// The header fields of a head payload (`name: value` lines, as the ring carries them), found in one pass over its
// bytes, each tagged with what the record does with it: a secret to fingerprint, a field the agent or the answer's
// type is read from, or a plain one. Names are compared as a lower-cased first word and a length, so a repeated name
// or a known one costs an integer comparison, not a byte loop (a profile had reading and comparing the two heads of a
// small exchange at a third of the logger's instructions).

/// A header field's name and value, as byte offsets into the head payload that holds it.
struct FieldRange {
    var nameStart: Int32
    var nameEnd: Int32
    var valueStart: Int32
    var valueEnd: Int32

    var name: Range<Int> { Int(nameStart)..<Int(nameEnd) }
    var value: Range<Int> { Int(valueStart)..<Int(valueEnd) }
}

struct HeadFields {
    /// What a field is to the record (names compared without regard to case).
    enum Role: UInt8 {
        case plain, apiKey, authorization, proxyAuthorization, cookie, setCookie, userAgent, contentType, contentEncoding

        /// Written as its fingerprint, never as itself.
        var isSecret: Bool {
            switch self {
            case .apiKey, .authorization, .proxyAuthorization, .cookie, .setCookie: true
            default: false
            }
        }
    }

    struct Field {
        var range: FieldRange
        /// The name's first eight bytes lower-cased, zero past its end.
        var prefix: UInt64
        var role: Role

        var name: Range<Int> { range.name }
        var value: Range<Int> { range.value }
    }

    private(set) var fields: [Field] = []
    /// Some name comes more than once (in any case): the writer then joins their values.
    private(set) var hasRepeats = false

    var count: Int { fields.count }
    subscript(index: Int) -> Field { fields[index] }

    /// The fields of `payload` from offset `at`, after its first `skipping` lines (a start record's client, upstream
    /// and request line; a response head's status line). Lines split as `LogPayload.lines` splits them: at "\n", a
    /// last line without one counting when it is not empty; a line without a colon is not a field; one space after
    /// the colon is not part of the value.
    mutating func read(_ payload: UnsafeRawBufferPointer, at: Int, skipping: Int) {
        clear()
        guard let base = payload.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let end = payload.count
        var at = at
        for _ in 0..<skipping {
            guard at < end else { return }
            at = (Self.find(base, 0x0A, from: at, to: end) ?? end) &+ 1
        }
        while at < end {
            let lineEnd = Self.find(base, 0x0A, from: at, to: end) ?? end
            if let colon = Self.find(base, UInt8(ascii: ":"), from: at, to: lineEnd) {
                var value = colon &+ 1
                if value < lineEnd, base[value] == 0x20 { value &+= 1 }
                append(base, FieldRange(nameStart: Int32(at), nameEnd: Int32(colon), valueStart: Int32(value),
                                        valueEnd: Int32(lineEnd)), limit: end)
            }
            at = lineEnd &+ 1
        }
    }

    /// No fields (the memory kept for the next head).
    mutating func clear() {
        fields.removeAll(keepingCapacity: true)
        hasRepeats = false
    }

    /// Fields given as ranges into `head` (tests and readers that hold headers as name-value pairs).
    mutating func set(_ head: UnsafeRawBufferPointer, _ ranges: [FieldRange]) {
        clear()
        guard let base = head.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        for range in ranges { append(base, range, limit: head.count) }
    }

    private mutating func append(_ base: UnsafePointer<UInt8>, _ range: FieldRange, limit: Int) {
        let prefix = Self.loweredPrefix(base, range.name, limit: limit)
        let field = Field(range: range, prefix: prefix, role: Self.role(base, range.name, prefix))
        if !hasRepeats {
            var earlier = 0
            while earlier < fields.count {
                if Self.sameName(base, fields[earlier], field) {
                    hasRepeats = true
                    break
                }
                earlier &+= 1
            }
        }
        fields.append(field)
    }

    /// Fields `a` and `b` of `head` have one name, in any case.
    func sameName(_ a: Int, _ b: Int, in head: UnsafeRawBufferPointer) -> Bool {
        guard let base = head.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        return Self.sameName(base, fields[a], fields[b])
    }

    /// One name, in any case: the lower-cased first words and the lengths first, then the bytes past eight.
    @inline(__always)
    private static func sameName(_ base: UnsafePointer<UInt8>, _ a: Field, _ b: Field) -> Bool {
        guard a.prefix == b.prefix, a.name.count == b.name.count else { return false }
        var k = 8
        while k < a.name.count {
            if ASCII.lower(base[a.name.lowerBound &+ k]) != ASCII.lower(base[b.name.lowerBound &+ k]) { return false }
            k &+= 1
        }
        return true
    }

    private static func role(_ base: UnsafePointer<UInt8>, _ name: Range<Int>, _ prefix: UInt64) -> Role {
        switch name.count {
        case 6: return prefix == word("cookie") ? .cookie : .plain
        case 9: return named(base, name, prefix, "x-api-key") ? .apiKey : .plain
        case 10:
            if named(base, name, prefix, "user-agent") { return .userAgent }
            return named(base, name, prefix, "set-cookie") ? .setCookie : .plain
        case 12: return named(base, name, prefix, "content-type") ? .contentType : .plain
        case 13: return named(base, name, prefix, "authorization") ? .authorization : .plain
        case 16: return named(base, name, prefix, "content-encoding") ? .contentEncoding : .plain
        case 19: return named(base, name, prefix, "proxy-authorization") ? .proxyAuthorization : .plain
        default: return .plain
        }
    }

    /// `name` (of the literal's length) is the lower-case `literal` in any case.
    @inline(__always)
    private static func named(_ base: UnsafePointer<UInt8>, _ name: Range<Int>, _ prefix: UInt64, _ literal: StaticString) -> Bool {
        guard prefix == word(literal) else { return false }
        let bytes = literal.utf8Start
        var k = 8
        while k < name.count {
            if ASCII.lower(base[name.lowerBound &+ k]) != bytes[k] { return false }
            k &+= 1
        }
        return true
    }

    /// The first eight bytes of a literal as a little-endian word, zero-padded (folded to a constant when inlined).
    @inline(__always)
    static func word(_ literal: StaticString) -> UInt64 {
        var word: UInt64 = 0
        for k in 0..<min(8, literal.utf8CodeUnitCount) { word |= UInt64(literal.utf8Start[k]) &<< UInt64(k &* 8) }
        return word
    }

    /// The first eight bytes of `name` lower-cased (ASCII letters), zero past its end.
    @inline(__always)
    static func loweredPrefix(_ base: UnsafePointer<UInt8>, _ name: Range<Int>, limit: Int) -> UInt64 {
        let n = min(8, name.count)
        var word: UInt64 = 0
        if name.lowerBound &+ 8 <= limit {
            word = UnsafeRawPointer(base + name.lowerBound).loadUnaligned(as: UInt64.self)
            if n < 8 { word &= (UInt64(1) &<< UInt64(n &* 8)) &- 1 }
        } else {
            for k in 0..<n { word |= UInt64(base[name.lowerBound &+ k]) &<< UInt64(k &* 8) }
        }
        return word | ASCII.upperCaseBits(word)
    }

    /// The first `byte` in `from..<to`: eight bytes at a time (lines here are short, so no call to memchr).
    @inline(__always)
    static func find(_ base: UnsafePointer<UInt8>, _ byte: UInt8, from: Int, to: Int) -> Int? {
        var at = from
        let pattern = SWAR.repeated(byte)
        while at &+ 8 <= to {
            let hits = SWAR.zeroBytes(UnsafeRawPointer(base + at).loadUnaligned(as: UInt64.self) ^ pattern)
            if hits != 0 { return at &+ hits.trailingZeroBitCount &>> 3 }
            at &+= 8
        }
        while at < to {
            if base[at] == byte { return at }
            at &+= 1
        }
        return nil
    }
}
