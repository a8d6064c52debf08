// The bytes of the records a logger thread writes, in one buffer it reuses from record to record and batch to batch:
// JSON pieces go in through a raw pointer (no Array append per piece, no String per value, no allocation once the
// buffer has grown). The JSON rules here (escaping, base64 bodies, numbers) are the record contract's: README "The
// exchange log".
import Glibc
import LogRing

final class OutputBuffer {
    /// Page aligned, so a batch placed at the right offset (`reset(leading:)`) hands a file's direct writes whole
    /// aligned blocks in place (see `DirectAppender`).
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    /// Where the contents start: bytes before it are unused (`reset(leading:)`).
    private(set) var start = 0
    /// The end of the contents, as an offset from `base` (so `count - start` bytes are written).
    var count = 0
    /// What the buffer shrinks back to after a large record (see `reset`).
    let keptCapacity: Int
    /// The global tables, held here so the hot loops do not go through their lazy initialisers on every use.
    private let escapes = escapeTable
    private let hexDigits = hexTable
    private let base64Digits = base64Table

    init(capacity: Int = 64 * 1024) {
        keptCapacity = capacity
        self.capacity = capacity
        base = Self.allocate(capacity)
    }

    deinit { base.deallocate() }

    static let alignment = 4096

    private static func allocate(_ capacity: Int) -> UnsafeMutablePointer<UInt8> {
        UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: alignment).bindMemory(to: UInt8.self, capacity: capacity)
    }

    var isEmpty: Bool { count == start }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + start, count: count &- start) }

    /// Room for `extra` more bytes; returns where they go.
    @inline(__always)
    func room(_ extra: Int) -> UnsafeMutablePointer<UInt8> {
        if count &+ extra > capacity { grow(count &+ extra) }
        return base + count
    }

    private func grow(_ needed: Int) {
        var size = capacity
        while size < needed { size &*= 2 }
        let bigger = Self.allocate(size)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = size
    }

    /// Forgets the contents; gives memory back when one large record grew the buffer past what it keeps. The next
    /// contents start `leading` bytes (less than the alignment) past the aligned start.
    func reset(leading: Int = 0) {
        if capacity > keptCapacity * 4 {
            base.deallocate()
            base = Self.allocate(keptCapacity)
            capacity = keptCapacity
        }
        start = leading & (Self.alignment &- 1)
        count = start
    }

    /// A copy of the contents, for callers that want an array (sinks take `[UInt8]`).
    func array() -> [UInt8] { Array(bytes) }

    // MARK: Plain bytes

    @inline(__always)
    func byte(_ value: UInt8) {
        room(1).pointee = value
        count &+= 1
    }

    @inline(__always)
    func raw(_ text: StaticString) {
        let length = text.utf8CodeUnitCount
        room(length).update(from: text.utf8Start, count: length)
        count &+= length
    }

    func raw(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        UnsafeMutableRawPointer(room(bytes.count)).copyMemory(from: source, byteCount: bytes.count)
        count &+= bytes.count
    }

    func decimal(_ value: Int) {
        if value < 0 {
            byte(UInt8(ascii: "-"))
            decimal(UInt64(value.magnitude))
        } else {
            decimal(UInt64(value))
        }
    }

    func decimal(_ value: UInt64) {
        // Most values here are small (status, token counts, byte counts): their digits are counted by comparison,
        // not division, then written in place.
        var digits = 1
        var bound: UInt64 = 10
        while value >= bound && digits < 20 {
            digits &+= 1
            if digits == 20 { break }
            bound &*= 10
        }
        _ = LogPayload.writeDigits(value, endingAt: room(digits) + digits)
        count &+= digits
    }

    /// Lower-case hex, at least `width` digits (zero-padded), never cut.
    func hex(_ value: UInt64, width: Int) {
        var digits = 1
        var rest = value >> 4
        while rest != 0 { rest >>= 4; digits &+= 1 }
        let total = max(width, digits)
        if total <= 16 {
            // Sixteen digits at once (two words), then the ones asked for: the last `total` of them.
            let out = room(16)
            let words = (Self.hexWord(UInt32(truncatingIfNeeded: value >> 32)), Self.hexWord(UInt32(truncatingIfNeeded: value)))
            withUnsafeBytes(of: words) { UnsafeMutableRawPointer(out).copyMemory(from: $0.baseAddress! + (16 &- total), byteCount: total) }
            count &+= total
            return
        }
        let out = room(total)
        rest = value
        for at in stride(from: total &- 1, through: 0, by: -1) {
            out[at] = hexDigits[Int(rest & 0xF)]
            rest >>= 4
        }
        count &+= total
    }

    /// The eight lower-case hex digits of `value`, most significant first in memory: its nibbles spread one to a
    /// byte, then each made a digit ('0' + n, and 39 more from 10 up, where 'a' is).
    @inline(__always)
    static func hexWord(_ value: UInt32) -> UInt64 {
        var x = UInt64(value)
        x = ((x & 0xFFFF_0000) &<< 16) | (x & 0xFFFF)
        x = ((x & 0x0000_FF00_0000_FF00) &<< 8) | (x & 0x0000_00FF_0000_00FF)
        x = ((x & 0x00F0_00F0_00F0_00F0) &<< 4) | (x & 0x000F_000F_000F_000F)
        let letters = ((x &+ 0x0606_0606_0606_0606) &>> 4) & 0x0101_0101_0101_0101
        return (x &+ 0x3030_3030_3030_3030 &+ letters &* 0x27).byteSwapped
    }

    /// What Swift's `Double.description` writes (the shortest text that reads back as the same value: "0.21",
    /// "1e-07", "100.0"; it fits a small String, so no allocation). JSON has no NaN or infinity: null.
    func double(_ value: Double) {
        guard value.isFinite else { return raw("null") }
        var text = value.description
        text.withUTF8 { raw(UnsafeRawBufferPointer($0)) }
    }

    /// Milliseconds from nanoseconds, as `double(Double(nanos) / 1e6)` writes them. Below 10^15 ns (11 days) the
    /// exact decimal quotient is also the shortest text that reads back as that double (a shorter one would differ
    /// by 10^-6 or more, far beyond half its ulp), so it is written from the integer; from 100 ns up Swift writes it
    /// without an exponent. Outside that range: `double`. (OutputBufferTests compare the two on millions of values.)
    func milliseconds(nanos: UInt64) {
        guard nanos >= 100 && nanos < 1_000_000_000_000_000 else { return double(Double(nanos) / 1e6) }
        fixedPoint(nanos, scale: 1_000_000, fractionDigits: 6)
    }

    /// `value / scale` (scale = 10^fractionDigits) in plain decimal as Swift writes a double without an exponent:
    /// the fraction's trailing zeros dropped, ".0" when there is none.
    @inline(__always)
    private func fixedPoint(_ value: UInt64, scale: UInt64, fractionDigits: Int) {
        decimal(value / scale)
        let fraction = value % scale
        guard fraction != 0 else { return raw(".0") }
        // The digits with their leading zeros, then the trailing zeros dropped.
        let out = room(fractionDigits &+ 1)
        out[0] = UInt8(ascii: ".")
        var first = LogPayload.writeDigits(fraction, endingAt: out + fractionDigits + 1)
        while first > out + 1 { first -= 1; first.pointee = UInt8(ascii: "0") }
        var end = fractionDigits &+ 1
        while out[end &- 1] == UInt8(ascii: "0") { end &-= 1 }
        count &+= end
    }

    /// What `double(value)` writes, for a value that is a whole number of billionths below 10^6 (a cost rounded to
    /// a nano-dollar, as the price table gives it), written from that integer: as for `milliseconds`, its exact
    /// decimal is then also the shortest text that reads back as the same double. Swift writes it with an exponent
    /// below 10^-4 ("1.21e-05"), without one from there. Any other value: `double`. (OutputBufferTests compare the
    /// two on every value below 2*10^5 billionths and on random ones up to 10^15.)
    func billionths(_ value: Double) {
        let scaled = (value * 1e9).rounded()
        guard value.sign == .plus, scaled < 1e15, let n = UInt64(exactly: scaled), Double(n) / 1e9 == value else {
            return double(value)
        }
        if n == 0 { return raw("0.0") }
        guard n < 100_000 else { return fixedPoint(n, scale: 1_000_000_000, fractionDigits: 9) }
        // 1 to 5 digits: d[.ddd]e-0X, the exponent being the digit count less ten.
        var length = 1
        var bound: UInt64 = 10
        while n >= bound { length &+= 1; bound &*= 10 }
        var significant = n
        while significant % 10 == 0 { significant /= 10 }
        var digits = 1
        bound = 10
        while significant >= bound { digits &+= 1; bound &*= 10 }
        let out = room(12)
        _ = LogPayload.writeDigits(significant, endingAt: out + 1 + digits)
        // The first digit, then the point before the rest (if any).
        out[0] = out[1]
        var at = 1
        if digits > 1 {
            out[1] = UInt8(ascii: ".")
            at = digits &+ 1
        }
        out[at] = UInt8(ascii: "e"); out[at &+ 1] = UInt8(ascii: "-"); out[at &+ 2] = UInt8(ascii: "0")
        out[at &+ 3] = UInt8(ascii: "0") &+ UInt8(10 &- length)
        count &+= at &+ 4
    }

    func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    // MARK: JSON strings

    /// A JSON string of text: valid UTF-8 is escaped as it is; anything else is read as Swift's
    /// `String(decoding:as:)` reads it (each invalid sequence becomes U+FFFD), so a header value with obs-text
    /// gives the same record as when it went through a String.
    func text(_ bytes: UnsafeRawBufferPointer) {
        if !string(ifValidUTF8: bytes) {
            var repaired = String(decoding: bytes, as: UTF8.self)
            repaired.withUTF8 { _ = string(ifValidUTF8: UnsafeRawBufferPointer($0)) }
        }
    }

    func text(_ value: String) {
        // A native string's bytes are read in place (no copy of the string, so no reference counting).
        if value.utf8.withContiguousStorageIfAvailable({ string(ifValidUTF8: UnsafeRawBufferPointer($0)) }) != nil { return }
        var value = value
        value.withUTF8 { _ = string(ifValidUTF8: UnsafeRawBufferPointer($0)) }
    }

    /// A body as one JSON value: a string when it is valid UTF-8, else `{"base64":"..."}` (the record contract in
    /// README; the tests hold it to their reference, BodyEncoding).
    func body(_ bytes: UnsafeRawBufferPointer) {
        if string(ifValidUTF8: bytes) { return }
        raw(#"{"base64":""#)
        base64(bytes)
        raw("\"}")
    }

    /// `"` + the escaped bytes + `"` when they are valid UTF-8 (checked in the same pass); otherwise writes
    /// nothing and answers false.
    @discardableResult
    func string(ifValidUTF8 bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.count <= 16 && shortCleanString(bytes) { return true }
        let mark = count
        byte(UInt8(ascii: "\""))
        if !escaped(bytes) {
            count = mark
            return false
        }
        byte(UInt8(ascii: "\""))
        return true
    }

    /// Most strings in a record are short and need no escape (header names, a method, a path, a model): those up
    /// to 16 bytes are checked as two zero-padded words and written whole, quotes included. False (nothing written)
    /// when one needs attention.
    @inline(__always)
    private func shortCleanString(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let (low, high) = Self.paddedWords(bytes)
        let n = bytes.count
        // The zero padding past `n` would be flagged as controls: only the string's own bytes count.
        let first = n >= 8 ? ~UInt64(0) : (UInt64(1) &<< UInt64(n &* 8)) &- 1
        let second = n <= 8 ? 0 : (n == 16 ? ~UInt64(0) : (UInt64(1) &<< UInt64((n &- 8) &* 8)) &- 1)
        guard (SWAR.jsonAttention(low) & first) | (SWAR.jsonAttention(high) & second) == 0 else { return false }
        // Both words are stored whole (the room covers them) and the closing quote lands on the padding.
        let out = UnsafeMutableRawPointer(room(18))
        out.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        out.storeBytes(of: low, toByteOffset: 1, as: UInt64.self)
        out.storeBytes(of: high, toByteOffset: 9, as: UInt64.self)
        out.storeBytes(of: UInt8(ascii: "\""), toByteOffset: n &+ 1, as: UInt8.self)
        count &+= n &+ 2
        return true
    }

    /// The first 16 bytes of `bytes` (at most 16) as two little-endian words, zeros past the end, read with loads
    /// that stay inside the bytes (overlapping ones, shifted into place): a copy call per short string cost more
    /// than the check.
    @inline(__always)
    static func paddedWords(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        let n = bytes.count
        guard n > 0, let p = bytes.baseAddress else { return (0, 0) }
        if n >= 8 {
            let low = p.loadUnaligned(as: UInt64.self)
            guard n > 8 else { return (low, 0) }
            // Bytes n-8..<n, of which the top n-8 are bytes 8..<n.
            let tail = p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            return (low, tail &>> UInt64((16 &- n) &* 8))
        }
        if n >= 4 {
            // Bytes 0..<4 and n-4..<n; where they overlap they agree.
            let head = UInt64(p.loadUnaligned(as: UInt32.self))
            let tail = UInt64(p.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self))
            return (head | (tail &<< UInt64((n &- 4) &* 8)), 0)
        }
        var low = UInt64(p.load(as: UInt8.self))
        if n > 1 { low |= UInt64(p.load(fromByteOffset: 1, as: UInt8.self)) &<< 8 }
        if n > 2 { low |= UInt64(p.load(fromByteOffset: 2, as: UInt8.self)) &<< 16 }
        return (low, 0)
    }

    /// `"` + the first `n` (1...8) bytes of `word` + `"`, when none of them needs an escape; false (nothing written)
    /// otherwise. A header name already loaded (and lower-cased) as a word is written without reading it again.
    @inline(__always)
    func quotedWord(_ word: UInt64, count n: Int) -> Bool {
        guard n > 0 && n <= 8 else { return false }
        let mine = n == 8 ? ~UInt64(0) : (UInt64(1) &<< UInt64(n &* 8)) &- 1
        guard SWAR.jsonAttention(word) & mine == 0 else { return false }
        let out = room(10)
        out[0] = UInt8(ascii: "\"")
        UnsafeMutableRawPointer(out + 1).storeBytes(of: word, as: UInt64.self)
        out[n &+ 1] = UInt8(ascii: "\"")
        count &+= n &+ 2
        return true
    }

    /// The inside of a JSON string (RFC 8259 §7: quote, backslash and C0 controls escaped; U+2028 and U+2029 too,
    /// as line ends in JavaScript before ES2019 and in some log viewers). Runs that need no escape, most of any
    /// text, are found eight bytes at a time and copied whole. False at the first byte that is not valid UTF-8.
    /// On false nothing is left written.
    func escaped(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let start = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        let mark = count
        // In slices, so the room asked for (6 bytes out per byte in, at worst) stays small for a large body.
        let slice = 16 * 1024
        var offset = 0
        while offset < bytes.count {
            // A sequence that starts before the slice's end is finished in it, so the next slice starts where this
            // one stopped.
            guard let next = escapeSlice(start, from: offset, to: min(bytes.count, offset &+ slice), total: bytes.count) else {
                count = mark
                return false
            }
            offset = next
        }
        return true
    }

    /// Escapes from `from` to at least `end`; returns where it stopped, nil at invalid UTF-8.
    private func escapeSlice(_ input: UnsafePointer<UInt8>, from: Int, to end: Int, total: Int) -> Int? {
        // 6 bytes out per byte in at worst, and 3 more for a sequence that runs past `end`.
        let out = room((end &- from) &* 6 &+ 8)
        var n = 0
        var i = from
        let table = escapes
        let hex = hexDigits
        let output = UnsafeMutableRawPointer(out)
        while i < end {
            // The clean run, eight bytes at a time while none is a quote, a backslash, a control or above 0x7F: each
            // word is stored as it was loaded (the room asked for covers a whole word past any point), and the output
            // moves on by the clean bytes only (the lowest flagged byte of a word is the first that needs attention).
            // No copy call per run: JSON bodies have a quote every few bytes.
            var clean = true
            while i &+ 8 <= end {
                let word = UnsafeRawPointer(input + i).loadUnaligned(as: UInt64.self)
                output.storeBytes(of: word, toByteOffset: n, as: UInt64.self)
                let flags = SWAR.jsonAttention(word)
                if flags != 0 {
                    let k = flags.trailingZeroBitCount >> 3
                    i &+= k
                    n &+= k
                    // A quote or a backslash (a JSON body has one every few bytes) is escaped here, and the run
                    // goes on from the next byte; anything else is handled below.
                    let byte = input[i]
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                        out[n] = UInt8(ascii: "\\")
                        out[n &+ 1] = byte
                        n &+= 2
                        i &+= 1
                        continue
                    }
                    clean = false
                    break
                }
                i &+= 8
                n &+= 8
            }
            if clean {
                // Fewer than eight bytes left in the slice: byte by byte.
                while i < end && table[Int(input[i])] == 0 {
                    out[n] = input[i]
                    n &+= 1
                    i &+= 1
                }
                if i == end { break }
            }
            let byte = input[i]
            let action = table[Int(byte)]
            if action == UInt8(ascii: "u") {
                // C0 controls without a short form: \u00XX.
                out[n] = UInt8(ascii: "\\"); out[n &+ 1] = UInt8(ascii: "u")
                out[n &+ 2] = UInt8(ascii: "0"); out[n &+ 3] = UInt8(ascii: "0")
                out[n &+ 4] = hex[Int(byte >> 4)]
                out[n &+ 5] = hex[Int(byte & 0x0F)]
                n &+= 6
                i &+= 1
            } else if action != 0x80 {
                out[n] = UInt8(ascii: "\\"); out[n &+ 1] = action
                n &+= 2
                i &+= 1
            } else {
                // A multi-byte sequence (it may run past this slice's end only when the body ends cut).
                let length = Self.sequenceLength(input, i, total)
                guard length > 0 else { return nil }
                if byte == 0xE2 && input[i &+ 1] == 0x80 && (input[i &+ 2] == 0xA8 || input[i &+ 2] == 0xA9) {
                    // U+2028 / U+2029 → \u2028 / \u2029
                    out[n] = UInt8(ascii: "\\"); out[n &+ 1] = UInt8(ascii: "u"); out[n &+ 2] = UInt8(ascii: "2")
                    out[n &+ 3] = UInt8(ascii: "0"); out[n &+ 4] = UInt8(ascii: "2")
                    out[n &+ 5] = input[i &+ 2] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9")
                    n &+= 6
                } else {
                    for k in 0..<length { out[n &+ k] = input[i &+ k] }
                    n &+= length
                }
                i &+= length
            }
        }
        count &+= n
        return i
    }

    /// The length of the well-formed UTF-8 sequence at `i` (Unicode §3.9, table 3-7), or 0 if there is none.
    @inline(__always)
    static func sequenceLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ count: Int) -> Int {
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
        guard i &+ length <= count, p[i &+ 1] >= low, p[i &+ 1] <= high else { return 0 }
        for k in 2..<length where p[i &+ k] & 0xC0 != 0x80 { return 0 }
        return length
    }

    // MARK: Base64 and times

    /// Standard base64 with padding (RFC 4648 §4).
    func base64(_ bytes: UnsafeRawBufferPointer) {
        let alphabet = base64Digits
        let out = room((bytes.count &+ 2) / 3 &* 4)
        var n = 0
        var i = 0
        while i &+ 3 <= bytes.count {
            let value = UInt32(bytes[i]) << 16 | UInt32(bytes[i &+ 1]) << 8 | UInt32(bytes[i &+ 2])
            out[n] = alphabet[Int(value >> 18)]
            out[n &+ 1] = alphabet[Int(value >> 12 & 0x3F)]
            out[n &+ 2] = alphabet[Int(value >> 6 & 0x3F)]
            out[n &+ 3] = alphabet[Int(value & 0x3F)]
            n &+= 4
            i &+= 3
        }
        let left = bytes.count &- i
        if left > 0 {
            let value = UInt32(bytes[i]) << 16 | (left == 2 ? UInt32(bytes[i &+ 1]) << 8 : 0)
            out[n] = alphabet[Int(value >> 18)]
            out[n &+ 1] = alphabet[Int(value >> 12 & 0x3F)]
            out[n &+ 2] = left == 2 ? alphabet[Int(value >> 6 & 0x3F)] : UInt8(ascii: "=")
            out[n &+ 3] = UInt8(ascii: "=")
            n &+= 4
        }
        count &+= n
    }

    /// `2026-11-25T12:34:56.123456Z` from microseconds since the epoch (UTC, the proleptic Gregorian calendar, as
    /// gmtime reads it; the year unpadded, as before).
    func rfc3339(micros value: UInt64) {
        // Records written in one second share the text up to the fraction (19 bytes): kept from the last one.
        let second = value / 1_000_000
        if second == lastSecond {
            let out = room(27)
            withUnsafeBytes(of: lastSecondText) { UnsafeMutableRawPointer(out).copyMemory(from: $0.baseAddress!, byteCount: 19) }
            count &+= 19
            fractionAndZone(value % 1_000_000)
            return
        }
        let mark = count
        calendar(value)
        if count &- mark == 19 {
            lastSecond = second
            withUnsafeMutableBytes(of: &lastSecondText) { $0.baseAddress!.copyMemory(from: base + mark, byteCount: 19) }
        }
        fractionAndZone(value % 1_000_000)
    }

    /// The second `rfc3339` last wrote, and its text up to the fraction (a four-digit year: 19 bytes).
    private var lastSecond = UInt64.max
    private var lastSecondText: (UInt64, UInt64, UInt64) = (0, 0, 0)

    private func fractionAndZone(_ micros: UInt64) {
        let out = room(8)
        out[0] = UInt8(ascii: ".")
        var first = LogPayload.writeDigits(micros, endingAt: out + 7)
        while first > out + 1 { first -= 1; first.pointee = UInt8(ascii: "0") }
        out[7] = UInt8(ascii: "Z")
        count &+= 8
    }

    /// Date and time to the second, from microseconds since 1970.
    private func calendar(_ value: UInt64) {
        let seconds = Int64(value / 1_000_000)
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 { secondOfDay += 86_400; days -= 1 }
        // Civil date from days since 1970-01-01 (era arithmetic over 400-year cycles of 146097 days).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        decimal(Int(year))
        byte(UInt8(ascii: "-")); two(Int(month))
        byte(UInt8(ascii: "-")); two(Int(day))
        byte(UInt8(ascii: "T")); two(Int(secondOfDay / 3600))
        byte(UInt8(ascii: ":")); two(Int(secondOfDay / 60 % 60))
        byte(UInt8(ascii: ":")); two(Int(secondOfDay % 60))
    }

    private func two(_ value: Int) {
        let out = room(2)
        out[0] = UInt8(ascii: "0") &+ UInt8(value / 10)
        out[1] = UInt8(ascii: "0") &+ UInt8(value % 10)
        count &+= 2
    }
}

/// What `escapeSlice` does with each byte: 0 copy it; a letter or `"`/`\\`: write `\\` and that; `u`: `\\u00XX`;
/// 0x80: the first byte of a multi-byte sequence (or not valid UTF-8 at all). Tables are plain pointers, made once
/// and never freed: the hot loops read them without the bounds checks and retains of an array.
nonisolated(unsafe) private let escapeTable: UnsafePointer<UInt8> = {
    let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    for byte in 0..<256 {
        table[byte] = switch byte {
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
    return UnsafePointer(table)
}()

nonisolated(unsafe) private let hexTable: UnsafePointer<UInt8> = table("0123456789abcdef")
nonisolated(unsafe) private let base64Table: UnsafePointer<UInt8> = table("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

private func table(_ text: StaticString) -> UnsafePointer<UInt8> {
    let table = UnsafeMutablePointer<UInt8>.allocate(capacity: text.utf8CodeUnitCount)
    table.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
    return UnsafePointer(table)
}

extension Array where Element == UInt8 {
    /// Appends raw bytes with one copy: `append(contentsOf:)` given an `UnsafeRawBufferPointer` (a collection of
    /// bytes, not a typed buffer) went byte by byte, a tenth of the logger's instructions on streams.
    @inline(__always)
    mutating func appendBytes(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: bytes.count))
    }
}
