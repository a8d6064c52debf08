// A parsed request or response head: the raw bytes of its pieces in one buffer, and the ranges that find them.
// Built incrementally from llhttp's span callbacks, reused (capacity kept) from one message to the next.

public struct HeaderField: Sendable {
    public var name: Range<Int>
    public var value: Range<Int>
}

public struct HTTPHead {
    /// Target (requests) or reason phrase (responses), then every header field as a `name: value\n` line (name and
    /// value as received, less the whitespace before the value).
    public internal(set) var bytes: [UInt8] = []
    public internal(set) var fields: [HeaderField] = []
    public internal(set) var target: Range<Int> = 0..<0

    public internal(set) var method: HTTPMethod = .unknown
    public internal(set) var status: Int = 0
    public internal(set) var versionMajor: Int = 1
    public internal(set) var versionMinor: Int = 1
    /// The peer wants the connection kept open after this message (llhttp's verdict from version + Connection).
    public internal(set) var keepAlive = true
    /// Framing as declared: `Transfer-Encoding: chunked`, or a Content-Length.
    public internal(set) var isChunked = false
    public internal(set) var contentLength: UInt64? = nil

    public init() {}

    /// Every field, as `name: value\n` lines in order: one copy gives them all (the exchange log's head records
    /// take this form).
    public var fieldLines: Range<Int> {
        guard let first = fields.first, let last = fields.last else { return 0..<0 }
        return first.name.lowerBound..<(last.value.upperBound + 1)
    }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        target = 0..<0
        method = .unknown
        status = 0
        keepAlive = true
        isChunked = false
        contentLength = nil
    }

    public var isHTTP11OrLater: Bool { versionMajor > 1 || (versionMajor == 1 && versionMinor >= 1) }

    // MARK: Looking at fields

    @inline(__always)
    public func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    public func string(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    public var targetString: String { string(target) }

    /// True when field `index` is named `lowercaseName` (ASCII case-insensitive).
    @inline(__always)
    public func name(at index: Int, is lowercaseName: StaticString) -> Bool {
        withBytes(fields[index].name) { ASCII.equalsIgnoringCase($0, lowercaseName) }
    }

    /// The index of the first field with this name.
    public func firstIndex(of lowercaseName: StaticString) -> Int? {
        for index in fields.indices where name(at: index, is: lowercaseName) { return index }
        return nil
    }

    /// The value of the first field with this name, as text.
    public func value(of lowercaseName: StaticString) -> String? {
        firstIndex(of: lowercaseName).map { string(fields[$0].value) }
    }

    /// How many fields carry this name.
    public func count(of lowercaseName: StaticString) -> Int {
        var n = 0
        for index in fields.indices where name(at: index, is: lowercaseName) { n += 1 }
        return n
    }

    /// The headers as text pairs, in order; for tests and logging, not the hot path.
    public var headerPairs: [(String, String)] { fields.map { (string($0.name), string($0.value)) } }
}

/// ASCII helpers for header names and tokens, on raw bytes.
public enum ASCII {
    /// tchar (RFC 9110 §5.6.2): the characters of a header name or a token.
    @inline(__always)
    public static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    @inline(__always)
    public static func lower(_ byte: UInt8) -> UInt8 { (byte >= 65 && byte <= 90) ? byte | 0x20 : byte }

    /// The value of a hexadecimal digit (a chunk size, a percent escape), or nil for any other byte.
    @inline(__always)
    public static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    public static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let other = lowercase.utf8Start
        for i in 0..<bytes.count where lower(bytes[i]) != other[i] { return false }
        return true
    }

    public static func equalsIgnoringCase(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where lower(a[i]) != lower(b[i]) { return false }
        return true
    }

    @inline(__always)
    static func isOptionalWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// Calls `body` with each comma-separated element of a list value, trimmed of optional whitespace
    /// (RFC 9110 §5.6.1); empty elements are skipped.
    public static func forEachListElement(_ value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        var index = 0
        while index <= value.count {
            if index == value.count || value[index] == UInt8(ascii: ",") {
                var lo = start, hi = index
                while lo < hi && isOptionalWhitespace(value[lo]) { lo += 1 }
                while hi > lo && isOptionalWhitespace(value[hi - 1]) { hi -= 1 }
                if hi > lo { body(UnsafeRawBufferPointer(rebasing: value[lo..<hi])) }
                start = index + 1
            }
            index += 1
        }
    }
}
