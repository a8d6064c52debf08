// Record times as text: RFC 3339 in UTC with microseconds, written by the logger and read back by the records'
// readers (the OTLP span's start).

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

enum RFC3339 {
    /// `2026-11-25T12:34:56.123456Z` from microseconds since the epoch (as records write it: OutputBuffer.rfc3339).
    static func micros(_ value: UInt64) -> String {
        let out = OutputBuffer(capacity: 64)
        out.rfc3339(micros: value)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// The reverse of `micros`, for readers of records (the OTLP span's start): nanoseconds since the epoch from
    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. Nil for anything else and for times before 1970 (or after 2554). Pure
    /// arithmetic, not timegm: no libc time zone state on a sink thread.
    static func nanos(parsing text: String) -> UInt64? {
        let b = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count else { return nil }
            var value = 0
            for i in range {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) else { return nil }
                value = value * 10 + Int(b[i] - UInt8(ascii: "0"))
            }
            return value
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var i = 19
        var fraction: UInt64 = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) {
                // Digits past the ninth are below a nanosecond.
                if digits < 9 { fraction = fraction * 10 + UInt64(b[i] - UInt8(ascii: "0")) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { fraction *= 10 }
        }
        var offsetSeconds = 0
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            guard i + 1 == b.count else { return nil }
        } else {
            guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"),
                  let hours = number((i + 1)..<(i + 3)), let minutes = number((i + 4)..<(i + 6)) else { return nil }
            offsetSeconds = (hours * 3600 + minutes * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        }
        // Days from 1970-01-01 to the civil date (the proleptic Gregorian calendar, in 400-year eras of 146097 days).
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146097 + dayOfEra - 719468
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds
        // UInt64 nanoseconds end in 2554.
        guard seconds >= 0, UInt64(seconds) < UInt64.max / 1_000_000_000 else { return nil }
        return UInt64(seconds) * 1_000_000_000 + fraction
    }
}

/// A body record's payload: the 8-byte monotonic time the fragment was read, then the bytes.
