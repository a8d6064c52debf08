// The logger's output buffer writes what the general JSONWriter and Swift's own formatting write, byte for byte:
// escaping (whole words at a time, in slices), base64, milliseconds from integers, RFC 3339 times.
@testable import ExchangeLog
import Foundation
import Testing

private func viaBuffer(_ bytes: [UInt8]) -> [UInt8]? {
    let out = OutputBuffer(capacity: 64)
    out.raw("[1,")
    let ok = bytes.withUnsafeBytes { out.string(ifValidUTF8: $0) }
    out.raw(",2]")
    return ok ? Array(out.bytes) : nil
}

private func viaWriter(_ bytes: [UInt8]) -> [UInt8]? {
    var writer = JSONWriter()
    writer.beginArray()
    writer.int(1)
    let ok = bytes.withUnsafeBufferPointer { writer.string(ifValidUTF8: $0) }
    writer.int(2)
    writer.endArray()
    return ok ? writer.bytes : nil
}

@Test func escapingAgreesWithJSONWriterOnRandomInput() {
    var generator = SystemRandomNumberGenerator()
    let pieces: [[UInt8]] = [Array("plain text ".utf8), Array("\"q\"".utf8), [0x5C], [0x0A], [0x01], [0x1F], [0x7F],
                             Array("é".utf8), Array("😀".utf8), Array("\u{2028}".utf8), Array("\u{2029}".utf8), [0xE2, 0x80],
                             [0xC3], [0xFF], Array(repeating: UInt8(ascii: "a"), count: 13)]
    for round in 0..<3000 {
        var input: [UInt8] = []
        let length = round % 50 == 0 ? Int.random(in: 16_000...40_000, using: &generator) : Int.random(in: 0...80, using: &generator)
        while input.count < length { input += pieces[Int.random(in: 0..<pieces.count, using: &generator)] }
        if round % 3 == 0 { input.removeAll { $0 == 0xFF || $0 == 0xC3 } }  // valid more often than not
        #expect(viaBuffer(input) == viaWriter(input), "round \(round), \(input.count) bytes")
    }
}

@Test func shortStringsAgreeWithJSONWriterAtEveryPosition() {
    // Strings up to 16 bytes take a two-word path: each length around it, with a byte that needs attention (or a
    // multi-byte character) at each position, and none.
    let specials: [[UInt8]] = [[0x22], [0x5C], [0x00], [0x1F], [0x7F], [0x80], Array("é".utf8), Array("\u{2028}".utf8), [0xFF]]
    for length in 0...18 {
        let plain = [UInt8](repeating: UInt8(ascii: "a"), count: length)
        #expect(viaBuffer(plain) == viaWriter(plain))
        for position in 0..<max(1, length) {
            for special in specials {
                var input = plain
                input.replaceSubrange(position..<min(length, position + 1), with: special)
                #expect(viaBuffer(input) == viaWriter(input), "\(input)")
            }
        }
    }
}

@Test func shortStringsAreReadInPlaceWithoutReadingPastThem() {
    // The two-word path reads a short string with overlapping loads: every length, with distinct bytes (so a byte
    // out of place shows), from a buffer exactly that long (the sanitizer build flags a read past its end).
    let alphabet = Array("abcdefghijklmnopq".utf8)
    for length in 0...17 {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, length), alignment: 1)
        defer { buffer.deallocate() }
        let text = Array(alphabet.prefix(length))
        buffer.copyBytes(from: text)
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<length])
        if length <= 16 {
            let (low, high) = OutputBuffer.paddedWords(bytes)
            var expected: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &expected) { $0.copyBytes(from: text) }
            #expect(low == expected.0 && high == expected.1, "length \(length)")
        }
        let out = OutputBuffer(capacity: 8)
        #expect(out.string(ifValidUTF8: bytes))
        #expect(Array(out.bytes) == Array("\"\(String(decoding: text, as: UTF8.self))\"".utf8), "length \(length)")
    }
}

@Test func millisecondsAreWhatDoubleDescriptionWrites() {
    var generator = SystemRandomNumberGenerator()
    var samples: [UInt64] = [1, 99, 100, 101, 999_999, 1_000_000, 41_700_000, 999_999_999_999_999, 1_000_000_000_000_000]
    for _ in 0..<200_000 { samples.append(UInt64.random(in: 0...UInt64(10).power(Int.random(in: 1...16, using: &generator)), using: &generator)) }
    for nanos in samples where nanos > 0 {
        let out = OutputBuffer(capacity: 64)
        out.milliseconds(nanos: nanos)
        #expect(String(decoding: out.bytes, as: UTF8.self) == (Double(nanos) / 1e6).description, "\(nanos)")
    }
}

@Test func costsAreWhatDoubleDescriptionWrites() {
    // Every whole number of billionths below 2*10^5 (the exponent's range and where it ends), random ones up to
    // 10^15 (where the integer path ends), and values that are not whole billionths.
    var generator = SystemRandomNumberGenerator()
    var samples: [Double] = (0..<200_000).map { Double($0) / 1e9 }
    for _ in 0..<200_000 {
        let n = UInt64.random(in: 0...UInt64(10).power(Int.random(in: 1...16, using: &generator)), using: &generator)
        samples.append((Double(n) / 1e6 * 1e9 / 1e6).rounded() / 1e9)
        samples.append(Double(n) / 1e9)
    }
    samples += [0.1234567891234, 1.0 / 3.0, 1e-12, 2.5e-10, 1e15, 1e16, 1e20, 123456.789012345, -0.0, -1e-9, -0.5,
                .greatestFiniteMagnitude, .leastNonzeroMagnitude]
    for value in samples {
        let out = OutputBuffer(capacity: 64)
        out.billionths(value)
        #expect(String(decoding: out.bytes, as: UTF8.self) == value.description, "\(value)")
    }
    let out = OutputBuffer(capacity: 64)
    out.billionths(.nan)
    #expect(String(decoding: out.bytes, as: UTF8.self) == "null")
}

@Test func base64AndTimesAreStandard() {
    for count in 0..<40 {
        let bytes = (0..<count).map { UInt8(($0 * 37) % 256) }
        let out = OutputBuffer(capacity: 8)
        bytes.withUnsafeBytes { out.base64($0) }
        #expect(String(decoding: out.bytes, as: UTF8.self) == Data(bytes).base64EncodedString())
    }
    for micros: UInt64 in [0, 951_782_400_000_000, 1_764_000_000_123_456, 4_102_444_799_999_999, 253_402_300_799_000_000] {
        var seconds = time_t(micros / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let expected = String(format: "%d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                              parts.tm_hour, parts.tm_min, parts.tm_sec, Int(micros % 1_000_000))
        #expect(RFC3339.micros(micros) == expected)
    }
}

private extension UInt64 {
    func power(_ exponent: Int) -> UInt64 { (0..<exponent).reduce(1) { value, _ in value * self } }
}

@Test func decimalsAreSwiftsDescription() {
    var values: [UInt64] = [0, 1, 9, 10, 11, 99, 100, 101, 999, UInt64.max, UInt64.max - 1, 10_000_000_000_000_000_000]
    var power: UInt64 = 1
    for _ in 0..<19 {
        power *= 10
        values += [power - 1, power, power + 1]
    }
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<10_000 { values.append(UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64.random(in: 0...63)) }
    for value in values {
        let out = OutputBuffer(capacity: 8)
        out.decimal(value)
        #expect(String(decoding: out.bytes, as: UTF8.self) == String(value))
    }
    for value in [Int.min, -1, -10, Int.max] {
        let out = OutputBuffer(capacity: 8)
        out.decimal(value)
        #expect(String(decoding: out.bytes, as: UTF8.self) == String(value))
    }
}

/// The reference: gmtime's fields, printed.
private func gmtimeText(_ micros: UInt64) -> String {
    var seconds = time_t(micros / 1_000_000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    return String(format: "%d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                  parts.tm_hour, parts.tm_min, parts.tm_sec, Int(micros % 1_000_000))
}

@Test func timesWrittenInARowAreEachTheirOwn() {
    // One buffer for all, as the logger writes them: runs within one second (the kept text), steps to the next
    // second, minute, day and year, jumps back, and years of other widths (not kept).
    var samples: [UInt64] = []
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<2_000 {
        let start = UInt64.random(in: 0...4_102_444_799_999_999, using: &generator)
        samples += [start, start + 1, start + 999_999, start + 1_000_000, start + 59_000_000, start + 86_400_000_000]
        samples.append(UInt64.random(in: 0...start, using: &generator))
    }
    samples += [0, 1, 999_999, 1_000_000, 253_402_300_799_000_000, 253_402_300_800_000_000, 253_402_300_800_000_001, 5]
    let out = OutputBuffer(capacity: 64)
    for micros in samples {
        out.reset()
        out.rfc3339(micros: micros)
        #expect(String(decoding: out.bytes, as: UTF8.self) == gmtimeText(micros), "\(micros)")
    }
}

@Test func hexIsZeroPaddedAndNeverCut() {
    var values: [UInt64] = [0, 1, 0xF, 0x10, 0xABCDEF, UInt64(UInt32.max), 1 << 32, 1 << 56, UInt64.max]
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<20_000 { values.append(UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64.random(in: 0...63)) }
    for value in values {
        for width in [0, 1, 4, 8, 14, 16, 20] {
            let out = OutputBuffer(capacity: 8)
            out.hex(value, width: width)
            let digits = String(value, radix: 16)
            let expected = String(repeating: "0", count: max(0, width - digits.count)) + digits
            #expect(String(decoding: out.bytes, as: UTF8.self) == expected, "\(value) \(width)")
        }
    }
}

@Test func wordsWithSeveralQuotesAgreeWithJSONWriter() {
    // Words holding only quotes and backslashes among their special bytes are escaped whole: every pattern of them
    // in a word, at each alignment, with a control or a non-ASCII byte after (the general path) or not, and every
    // length of tail after.
    for pattern in 0..<256 {
        for lead in 0..<3 {
            for tail in 0..<9 {
                var input = Array(repeating: UInt8(ascii: "x"), count: lead)
                for bit in 0..<8 { input.append(pattern & (1 << bit) != 0 ? (bit % 3 == 0 ? 0x5C : 0x22) : UInt8(ascii: "a") + UInt8(bit)) }
                input += Array(repeating: UInt8(ascii: "y"), count: tail)
                #expect(viaBuffer(input) == viaWriter(input), "\(input)")
                let withControl = input + [0x01, 0x22] + Array("é".utf8) + input
                #expect(viaBuffer(withControl) == viaWriter(withControl), "\(withControl)")
            }
        }
    }
}
