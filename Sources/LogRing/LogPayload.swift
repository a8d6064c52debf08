// What each record kind carries, defined once: the loop writes payloads with the `append` functions here
// (ExchangeRecorder), the logger reads them with the types here (RecordAssembler), and a round-trip test holds the
// two together. Text, one item a line, so a dump of the ring reads as what happened; clocks and figures are binary
// words (UInt64, little-endian), as formatting them in decimal and reading them back was most of what logging cost the
// loop per small exchange:
//
//   start          [wall-clock µs][monotonic ns] client \n upstream \n METHOD TARGET HTTP/x.y \n (Name: value \n)*
//   responseHead   STATUS REASON \n (Name: value \n)*
//   requestBody,
//   responseBody   [monotonic ns when read][the bytes]
//   end            `EndFigures` (88 bytes), then (key=value \n)* for the texts: outcome, error, upstream, attempt
//
// Field values and targets cannot hold a newline (the HTTP parser refuses one); texts written by kgb itself (an
// error message) have theirs replaced by spaces.

public enum LogPayload {
    // MARK: Writing (the loop thread: appends to a reused buffer, no allocation once it has grown)

    public static func appendLine<Out: PayloadOutput>(_ bytes: UnsafeRawBufferPointer, into out: inout Out) {
        out.append(bytes)
        out.append(lineEnd)
    }

    /// The start record's first 16 bytes.
    public static func appendClocks<Out: PayloadOutput>(wallMicros: UInt64, monotonicNanos: UInt64, into out: inout Out) {
        appendWord(wallMicros, into: &out)
        appendWord(monotonicNanos, into: &out)
    }

    public static let clocksByteCount = 16

    @inline(__always)
    static func appendWord<Out: PayloadOutput>(_ value: UInt64, into out: inout Out) {
        withUnsafeBytes(of: value.littleEndian) { out.append($0) }
    }

    @inline(__always)
    static func word(_ payload: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// `METHOD TARGET HTTP/major.minor`
    public static func appendRequestLine<Out: PayloadOutput>(method: UnsafeRawBufferPointer, target: UnsafeRawBufferPointer,
                                                             versionMajor: Int, versionMinor: Int, into out: inout Out) {
        out.append(method)
        out.append(space)
        out.append(target)
        if versionMajor == 1 && versionMinor == 1 {
            out.append(" HTTP/1.1\n")  // nearly every request: no digits to format
            return
        }
        out.append(" HTTP/")
        appendDecimal(UInt64(versionMajor), into: &out)
        out.append(UInt8(ascii: "."))
        appendDecimal(UInt64(versionMinor), into: &out)
        out.append(lineEnd)
    }

    /// `STATUS REASON`
    public static func appendStatusLine<Out: PayloadOutput>(_ status: Int, reason: UnsafeRawBufferPointer, into out: inout Out) {
        appendDecimal(UInt64(status), into: &out)
        out.append(space)
        out.append(reason)
        out.append(lineEnd)
    }

    /// `Name: value`
    public static func appendField<Out: PayloadOutput>(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                                                       into out: inout Out) {
        out.append(name)
        out.append(": ")
        out.append(value)
        out.append(lineEnd)
    }

    public enum EndKey: String, CaseIterable, Sendable {
        case outcome, error
        case connectNanos = "connect_ns", tlsNanos = "tls_ns", tlsResumed = "tls_resumed", headNanos = "head_ns"
        case firstByteNanos = "first_byte_ns", totalNanos = "total_ns"
        case requestBytes = "request_bytes", responseBytes = "response_bytes", droppedBytes = "dropped_bytes"
        /// The agent's index in the registry (with `--agents`).
        case agent
        /// The upstream that answered, when failover moved the exchange.
        case upstream
        /// One per upstream tried before it: `status \t nanoseconds \t upstream \t error` (status 0: none).
        case attempt
    }

    /// The end record's numeric entries, at its start: [present: a bit per slot][one word per slot], 88 bytes.
    public struct EndFigures: Equatable, Sendable {
        public static let byteCount = 8 * (1 + slotCount)
        static let slotCount = 10
        /// The payload's words as they go into the ring (little-endian), so writing them is one copy: word 0 has a
        /// bit per present slot (absent entries differ from 0: no TLS, no agent, nothing dropped), slot k is word k + 1.
        @usableFromInline var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

        public init() {}

        /// Read from the start of an end payload; nil when it is too short to hold them.
        public init?(_ payload: UnsafeRawBufferPointer) {
            guard payload.count >= Self.byteCount, let source = payload.baseAddress else { return nil }
            withUnsafeMutableBytes(of: &words) { $0.baseAddress!.copyMemory(from: source, byteCount: Self.byteCount) }
        }

        @usableFromInline var present: UInt64 { UInt64(littleEndian: words.0) }

        @inlinable @inline(__always)
        static func slot(_ key: EndKey) -> Int? {
            switch key {
            case .connectNanos: 0
            case .tlsNanos: 1
            case .tlsResumed: 2
            case .headNanos: 3
            case .firstByteNanos: 4
            case .totalNanos: 5
            case .requestBytes: 6
            case .responseBytes: 7
            case .droppedBytes: 8
            case .agent: 9
            case .outcome, .error, .upstream, .attempt: nil
            }
        }

        /// Sets a numeric entry (text keys are not figures: they are ignored here).
        public mutating func set(_ key: EndKey, _ value: UInt64) {
            guard let slot = Self.slot(key) else { return }
            words.0 = (present | 1 << UInt64(slot)).littleEndian
            withUnsafeMutableBytes(of: &words) { $0.storeBytes(of: value.littleEndian, toByteOffset: 8 * (slot + 1), as: UInt64.self) }
        }

        @inlinable
        public subscript(_ key: EndKey) -> UInt64? {
            guard let slot = Self.slot(key), present & (1 << UInt64(slot)) != 0 else { return nil }
            return withUnsafeBytes(of: words) { UInt64(littleEndian: $0.load(fromByteOffset: 8 * (slot + 1), as: UInt64.self)) }
        }

        public func append<Out: PayloadOutput>(into out: inout Out) {
            withUnsafeBytes(of: words) { out.append($0) }
        }

        public static func == (a: EndFigures, b: EndFigures) -> Bool {
            EndKey.allCases.allSatisfy { a[$0] == b[$0] }
        }
    }

    /// A text entry of the end record (outcome, error, upstream, attempt); numeric entries are `EndFigures`, which a
    /// reader takes only from there.
    public static func appendEntry<Out: PayloadOutput>(_ key: EndKey, _ text: String, into out: inout Out) {
        appendKey(key, into: &out)
        var text = text
        text.withUTF8 { utf8 in
            if utf8.contains(lineEnd) {
                for byte in utf8 { out.append(byte == lineEnd ? space : byte) }
            } else {
                out.append(UnsafeRawBufferPointer(utf8))
            }
        }
        out.append(lineEnd)
    }

    /// A text entry known when kgb was built (an outcome's name): no newline to look for, no String to read.
    public static func appendEntry<Out: PayloadOutput>(_ key: EndKey, name: StaticString, into out: inout Out) {
        appendKey(key, into: &out)
        out.append(name)
        out.append(lineEnd)
    }

    /// The 8 bytes that start a body record: when its bytes were read (monotonic ns).
    public static func bodyStamp(_ readAt: UInt64) -> UInt64 { readAt.littleEndian }

    private static func appendKey<Out: PayloadOutput>(_ key: EndKey, into out: inout Out) {
        // The key's name and "=" as one static string: no String made per entry.
        let name: StaticString = switch key {
        case .outcome: "outcome="
        case .error: "error="
        case .upstream: "upstream="
        case .attempt: "attempt="
        case .connectNanos, .tlsNanos, .tlsResumed, .headNanos, .firstByteNanos, .totalNanos, .requestBytes, .responseBytes,
             .droppedBytes, .agent:
            preconditionFailure("the end record's \(key) is a figure (LogPayload.EndFigures), not a text entry")
        }
        out.append(name)
    }

    @inlinable
    static func appendDecimal<Out: PayloadOutput>(_ value: UInt64, into out: inout Out) {
        // Into a stack buffer, then one append: an append per digit was most of the loop's logging work. Twenty
        // bytes (bound to UInt8, as a tuple of them is): room for UInt64.max.
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            let end = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + buffer.count
            let start = writeDigits(value, endingAt: end)
            out.append(UnsafeRawBufferPointer(start: start, count: start.distance(to: end)))
        }
    }

    /// Writes the decimal digits of `value` right to left, ending just before `end` (room for 20 is enough), and
    /// returns where they start: two digits per division, and a division by a constant is a multiplication (a
    /// division by a variable per digit was most of what formatting numbers cost). The loop's payloads and the
    /// logger's records both write numbers with it.
    @inlinable
    public static func writeDigits(_ value: UInt64, endingAt end: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var at = end
        var rest = value
        let pairs = digitPairs
        while rest >= 100 {
            let pair = Int(truncatingIfNeeded: rest % 100)
            rest /= 100
            at -= 2
            UnsafeMutableRawPointer(at).copyMemory(from: pairs + 2 &* pair, byteCount: 2)
        }
        if rest >= 10 {
            at -= 2
            UnsafeMutableRawPointer(at).copyMemory(from: pairs + 2 &* Int(truncatingIfNeeded: rest), byteCount: 2)
        } else {
            at -= 1
            at[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest)
        }
        return at
    }

    /// "00", "01", ... "99": two digits per table read (a literal: its address is a constant, with no lazy start).
    @usableFromInline
    static var digitPairs: UnsafeRawPointer {
        let pairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
        return UnsafeRawPointer(pairs.utf8Start)
    }

    private static let lineEnd: UInt8 = 0x0A
    private static let space: UInt8 = 0x20

    // MARK: Reading (the logger thread)

    public struct Start: Equatable, Sendable {
        public var wallMicros: UInt64 = 0
        public var monotonicNanos: UInt64 = 0
        public var client = ""
        public var upstream = ""
        public var method = ""
        public var target = ""
        public var version = ""
        public var fields: [Field] = []

        /// nil when the payload is not a start record (shorter than its clocks, or fewer than its three lines).
        public init?(_ payload: UnsafeRawBufferPointer) {
            guard payload.count >= LogPayload.clocksByteCount else { return nil }
            let lines = LogPayload.lines(UnsafeRawBufferPointer(rebasing: payload[LogPayload.clocksByteCount...]))
            guard lines.count >= 3 else { return nil }
            wallMicros = LogPayload.word(payload, at: 0)
            monotonicNanos = LogPayload.word(payload, at: 8)
            client = LogPayload.text(lines[0])
            upstream = LogPayload.text(lines[1])
            // The target has no spaces (the parser refuses them): METHOD, TARGET, the rest.
            if let (method, rest) = LogPayload.split(lines[2], at: space), let (target, version) = LogPayload.split(rest, at: space) {
                self.method = LogPayload.text(method)
                self.target = LogPayload.text(target)
                self.version = LogPayload.text(version)
            }
            fields = lines.dropFirst(3).compactMap(Field.init)
        }
    }

    public struct ResponseHead: Equatable, Sendable {
        public var status: Int?
        public var reason = ""
        public var fields: [Field] = []

        public init(_ payload: UnsafeRawBufferPointer) {
            let lines = LogPayload.lines(payload)
            if let first = lines.first {
                let (code, reason) = LogPayload.split(first, at: space) ?? (first, UnsafeRawBufferPointer(start: nil, count: 0))
                status = LogPayload.number(code).map { Int($0) }
                self.reason = LogPayload.text(reason)
            }
            fields = lines.dropFirst().compactMap(Field.init)
        }
    }

    public struct Field: Equatable, Sendable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }

        /// `Name: value` (one space after the colon dropped); nil for a line without a colon.
        init?(_ line: UnsafeRawBufferPointer) {
            guard let (name, rest) = LogPayload.split(line, at: UInt8(ascii: ":")) else { return nil }
            let value = rest.first == space ? UnsafeRawBufferPointer(rebasing: rest.dropFirst()) : rest
            self.init(name: LogPayload.text(name), value: LogPayload.text(value))
        }
    }

    /// A body record: valid only as long as its payload (the `consume` callback).
    public struct Body {
        public let readAt: UInt64
        public let bytes: UnsafeRawBufferPointer

        public init(_ payload: UnsafeRawBufferPointer) {
            guard payload.count >= 8 else {
                readAt = 0
                bytes = payload
                return
            }
            readAt = UInt64(littleEndian: payload.loadUnaligned(as: UInt64.self))
            bytes = UnsafeRawBufferPointer(rebasing: payload[8...])
        }
    }

    public struct End: Equatable, Sendable {
        public var outcome = "complete"
        public var error: String?
        public var upstream: String?
        public var attempts: [Attempt] = []

        public struct Attempt: Equatable, Sendable {
            public var upstream: String
            public var status: Int?
            public var error: String?
            public var nanos: UInt64
        }
        /// The numeric entries.
        public var figures = EndFigures()

        public init(_ payload: UnsafeRawBufferPointer) {
            guard let figures = EndFigures(payload) else { return }
            self.figures = figures
            for line in LogPayload.lines(UnsafeRawBufferPointer(rebasing: payload[EndFigures.byteCount...])) {
                guard let (keyBytes, value) = LogPayload.split(line, at: UInt8(ascii: "=")),
                      let key = EndKey(rawValue: LogPayload.text(keyBytes)) else { continue }
                switch key {
                case .outcome: outcome = LogPayload.text(value)
                case .error: error = LogPayload.text(value)
                case .upstream: upstream = LogPayload.text(value)
                case .attempt:
                    let parts = LogPayload.text(value).split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
                    guard parts.count == 4 else { continue }
                    let status = Int(parts[0]) ?? 0
                    attempts.append(Attempt(upstream: String(parts[2]), status: status == 0 ? nil : status,
                                            error: parts[3].isEmpty ? nil : String(parts[3]), nanos: UInt64(parts[1]) ?? 0))
                default: break  // figures are not lines
                }
            }
        }

        public subscript(_ key: EndKey) -> UInt64? { figures[key] }
    }

    // Byte-level reading: the logger reads thousands of records a second, and String indexing per character was
    // most of its time.

    static func lines(_ payload: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
        var lines: [UnsafeRawBufferPointer] = []
        var start = 0
        for index in 0..<payload.count where payload[index] == lineEnd {
            lines.append(UnsafeRawBufferPointer(rebasing: payload[start..<index]))
            start = index + 1
        }
        if start < payload.count { lines.append(UnsafeRawBufferPointer(rebasing: payload[start...])) }
        return lines
    }

    static func text(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }

    /// A decimal number (nil when empty or not all digits): a status code, a version.
    public static func number(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard !bytes.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value &* 10 &+ UInt64(byte - 0x30)
        }
        return value
    }

    static func split(_ line: UnsafeRawBufferPointer, at separator: UInt8) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer)? {
        guard let at = line.firstIndex(of: separator) else { return nil }
        return (UnsafeRawBufferPointer(rebasing: line[..<at]), UnsafeRawBufferPointer(rebasing: line[(at + 1)...]))
    }
}

/// Where payloads are written: a byte array (tests, the logger's own tests), or the loop's `PayloadBuffer`.
public protocol PayloadOutput {
    mutating func append(_ byte: UInt8)
    mutating func append(_ bytes: UnsafeRawBufferPointer)
}

extension PayloadOutput {
    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}

extension Array: PayloadOutput where Element == UInt8 {
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: bytes.count))
    }
}

/// The loop's payload buffer: one allocation, grown when a head needs it, written through a pointer (an append to an
/// array checks uniqueness and capacity and calls into the runtime; this is a compare and a copy). A struct holding a
/// class, so `inout` use costs nothing; one loop thread uses it.
public struct PayloadBuffer: PayloadOutput {
    @usableFromInline
    final class Storage {
        @usableFromInline var base: UnsafeMutableRawPointer
        @usableFromInline var capacity: Int
        init(capacity: Int) {
            self.capacity = capacity
            base = .allocate(byteCount: capacity, alignment: 8)
        }
        deinit { base.deallocate() }
    }

    @usableFromInline let storage: Storage
    /// Bytes written (set only by this type's own methods).
    @usableFromInline var written = 0
    public var count: Int { written }

    public init(capacity: Int = 4096) { storage = Storage(capacity: max(capacity, 64)) }


    @inlinable
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.base, count: count) }

    @inlinable
    public mutating func removeAll() { written = 0 }

    @inlinable @inline(__always)
    mutating func room(_ extra: Int) -> UnsafeMutableRawPointer {
        if count &+ extra > storage.capacity { grow(count &+ extra) }
        return storage.base + count
    }

    @usableFromInline
    func grow(_ needed: Int) {
        var size = storage.capacity
        while size < needed { size &*= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        bigger.copyMemory(from: storage.base, byteCount: count)
        storage.base.deallocate()
        storage.base = bigger
        storage.capacity = size
    }

    @inlinable @inline(__always)
    public mutating func append(_ byte: UInt8) {
        room(1).storeBytes(of: byte, as: UInt8.self)
        written &+= 1
    }

    @inlinable @inline(__always)
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        let out = room(bytes.count)
        if bytes.count <= 16 {
            // Field names, short values, digits: a loop is cheaper than a call to memcpy.
            for index in 0..<bytes.count { (out + index).storeBytes(of: source.load(fromByteOffset: index, as: UInt8.self), as: UInt8.self) }
        } else {
            out.copyMemory(from: source, byteCount: bytes.count)
        }
        written &+= bytes.count
    }
}
