// The times the pages send (a range's ends, a page cursor) and the record's own: UTC, ISO 8601, the way records
// spell started_at (2026-11-25T12:34:56.123456Z), or shorter (2026-11-25, 2026-11-25T12:34). Anything else is
// refused with a message, not guessed at.
#if canImport(Glibc)
import Glibc
#endif

enum ISOTime {
    /// Seconds since the epoch, or nil when `text` is not such a time.
    static func seconds(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        func byte(_ index: Int, is character: Character) -> Bool { index < bytes.count && bytes[index] == character.asciiValue }
        guard let year = number(0..<4), byte(4, is: "-"), let month = number(5..<7), byte(7, is: "-"),
              let day = number(8..<10), (1...12).contains(month), (1...31).contains(day) else { return nil }
        var hour = 0, minute = 0, second = 0, fraction = 0.0
        var end = 10
        if bytes.count > 10 {
            guard byte(10, is: "T"), let h = number(11..<13), byte(13, is: ":"), let m = number(14..<16),
                  h < 24, m < 60 else { return nil }
            (hour, minute, end) = (h, m, 16)
            if byte(16, is: ":") {
                guard let s = number(17..<19), s < 61 else { return nil }
                (second, end) = (s, 19)
                if byte(19, is: ".") {
                    var digits = 20
                    while digits < bytes.count && bytes[digits] >= 0x30 && bytes[digits] <= 0x39 { digits += 1 }
                    guard digits > 20, digits - 20 <= 9, let value = number(20..<digits) else { return nil }
                    fraction = Double(value) / pow(10, Double(digits - 20))
                    end = digits
                }
            }
            if byte(end, is: "Z") { end += 1 }
        }
        guard end == bytes.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Double(timegm(&parts)) + fraction
    }

    /// `seconds` as a record spells a time, to the microsecond.
    static func text(_ seconds: Double) -> String {
        var whole = time_t(seconds.rounded(.down))
        let micros = Int(((seconds - Double(whole)) * 1_000_000).rounded(.down))
        var parts = tm()
        gmtime_r(&whole, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let microText = String(micros)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 6 - microText.count) + microText + "Z"
    }

    /// Seconds on a clock that never jumps (for budgets).
    static func monotonic() -> Double {
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        return Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
    }

    static func now() -> Double {
        var clock = timespec()
        clock_gettime(CLOCK_REALTIME, &clock)
        return Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
    }
}
