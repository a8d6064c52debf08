// The log ring: a lock-free single-producer/single-consumer byte ring that carries copies of each exchange from the
// event loop thread (producer) to the logger thread (consumer) without locks, allocation or syscalls.
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a record carries. `padding` is internal framing (never handed to a consumer, never written by a caller).
public enum LogRecordKind: UInt8, Sendable {
    case padding = 0, start = 1, requestBody = 3, responseHead = 4, responseBody = 5, end = 6
}

/// One record as the consumer sees it. `payload` points into the ring: it is valid only during the `consume`
/// callback, because the space is handed back to the producer as soon as `consume` returns.
public struct LogRecord {
    public let kind: LogRecordKind
    public let exchange: UInt64
    public let payload: UnsafeRawBufferPointer

    /// For code that processes records (and its tests) without a ring in between.
    public init(kind: LogRecordKind, exchange: UInt64, payload: UnsafeRawBufferPointer) {
        self.kind = kind
        self.exchange = exchange
        self.payload = payload
    }
}

/// The payload pointer must not leave the consumer thread (nor outlive the callback).
@available(*, unavailable)
extension LogRecord: Sendable {}

/// Framing, in ring memory (little-endian; all offsets multiples of 8):
///
///     [payload length: UInt32][kind: UInt8][3 zero bytes][exchange id: UInt64][payload][zero pad to a multiple of 8]
///
/// A record never wraps around the end of the buffer, so the consumer can hand out one contiguous payload pointer.
/// When the next record does not fit before the end, the producer skips to offset 0 of the next lap:
/// - if at least 16 bytes remain, it writes a `padding` record covering exactly the rest of the buffer (its payload
///   length is `remaining - 16`, its payload bytes are not written);
/// - if fewer than 16 remain (only 8 can, as every record is a multiple of 8), nothing is written there: the
///   consumer, finding fewer than 16 bytes before the end at a position behind `head`, skips them the same way.
/// Both the skipped bytes and the record are published by one store to `head`, so the consumer sees both or neither.
///
/// Threads: exactly one producer thread calls `tryWrite` and `canWrite`; exactly one consumer thread calls
/// `consume`. Only the two `Int` positions cross between them, never an object reference.
public final class LogRing: @unchecked Sendable {
    /// Bytes before a record's payload.
    static let headerBytes = 16
    /// Fixed (not a fraction of one ring's capacity) so producers can split data once, whatever ring they write to.
    /// It is a quarter of the smallest ring: a record then always fits in an empty ring, whatever the position
    /// (fitting needs at most 2 × record size when the record has to skip the buffer's tail end), and a full-size
    /// record never waits for more than three quarters of the ring to drain.
    public static let maxPayload = 16 * 1024
    static let minimumCapacity = 64 * 1024

    // Read-only after init; both threads read them, nobody writes them.
    private let buffer: UnsafeMutableRawPointer
    /// The same memory as 8-byte words, for headers and pad words. Typed stores and loads, not the raw pointer's
    /// `storeBytes`/`load`: in unoptimised builds those are calls into the (uninstrumented) standard library, so
    /// ThreadSanitizer would not see them; typed accesses it does see, so a memory-ordering mistake shows up as a
    /// race on the headers, which every lap rewrites.
    private let words: UnsafeMutablePointer<UInt64>
    private let mask: Int
    public let capacity: Int

    // Layout: Swift lays out a class's stored properties in declaration order, so the padding tuples below keep the
    // producer's fields (`head`, `cachedTail`) and the consumer's (`tail`) at least 128 bytes from each other and
    // from the object header and read-only fields above. 128 rather than 64: x86's adjacent-line prefetcher fetches
    // cache lines in pairs, so two fields 64 bytes apart can still ping-pong (folly uses 128 for the same reason).
    // Without it every store to `head` would evict the consumer's copy of `tail` and vice versa (false sharing).
    private let padBeforeHead: CacheLinePad = cacheLinePad

    /// Producer's write position: bytes ever written (records and skipped space). Stored only by the producer.
    private let head = Atomic<Int>(0)
    /// The producer's last view of `tail`. `tail` only grows, so a stale copy under-states the free space: it can
    /// only make the producer re-read `tail`, never overwrite unread bytes. Saves touching the consumer's cache
    /// line on every write while there is room.
    private var cachedTail = 0
    private let padBetween: CacheLinePad = cacheLinePad

    /// Consumer's read position: bytes ever released back to the producer. Stored only by the consumer.
    private let tail = Atomic<Int>(0)
    private let padAfterTail: CacheLinePad = cacheLinePad

    /// `capacity` in bytes is rounded up to a power of two (so positions map to offsets with a mask), at least 64 KiB.
    public init(capacity: Int) {
        precondition(capacity <= 1 << 40, "LogRing capacity \(capacity) is absurd")
        let wanted = max(capacity, LogRing.minimumCapacity)
        let rounded = 1 << (Int.bitWidth - (wanted - 1).leadingZeroBitCount)
        self.capacity = rounded
        mask = rounded - 1
        // Mapped once, for the ring's whole life: page aligned (so `releaseFreePages` can hand whole pages back), and
        // its pages become resident only as records first reach them.
        guard let mapped = mmap(nil, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else {
            fatalError("LogRing: cannot map \(rounded) bytes: errno \(errno)")
        }
        buffer = mapped
        // Bound to UInt64 once; payload bytes are still copied in raw, which a trivial type allows.
        words = buffer.bindMemory(to: UInt64.self, capacity: rounded / 8)
    }

    deinit {
        munmap(buffer, capacity)
    }

    // MARK: Producer side

    /// Appends one record, or returns false (writing nothing) if there is not enough room now.
    /// Never blocks, allocates or makes a syscall. `payload.count` must be at most `maxPayload` (split bigger data):
    /// a bigger payload is a programming error and stops the process, as it could never fit.
    @inline(__always)
    public func tryWrite(kind: LogRecordKind, exchange: UInt64, payload: UnsafeRawBufferPointer) -> Bool {
        tryWrite(kind: kind, exchange: exchange, payloads: payload, UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// As `tryWrite(kind:exchange:payload:)`, with the payload given in two pieces (payload = first ++ second), so a
    /// caller can prepend a small header to borrowed bytes without copying them together first.
    public func tryWrite(kind: LogRecordKind, exchange: UInt64, payloads first: UnsafeRawBufferPointer,
                         _ second: UnsafeRawBufferPointer) -> Bool {
        let length = first.count &+ second.count
        precondition(length <= LogRing.maxPayload,
                     "LogRing payload of \(length) bytes exceeds maxPayload \(LogRing.maxPayload); split it")
        precondition(kind != .padding, "padding records are the ring's own framing")
        let head = self.head.load(ordering: .relaxed)  // own index: only this thread stores it
        guard let start = placement(head: head, recordBytes: LogRing.recordBytes(payload: length)) else {
            return false
        }
        if start != head {
            let remaining = start &- head
            if remaining >= LogRing.headerBytes {
                writeHeader(at: head & mask, kind: .padding, exchange: 0, length: remaining &- LogRing.headerBytes)
            }
        }
        let offset = start & mask
        writeHeader(at: offset, kind: kind, exchange: exchange, length: length)
        let payload = buffer + offset + LogRing.headerBytes
        let padded = LogRing.padded(length)
        if padded != length {
            // Zero the last word first; the payload copy then overwrites its leading bytes.
            words[(offset &+ LogRing.headerBytes &+ padded &- 8) >> 3] = 0
        }
        if first.count > 0 { payload.copyMemory(from: first.baseAddress!, byteCount: first.count) }
        if second.count > 0 { (payload + first.count).copyMemory(from: second.baseAddress!, byteCount: second.count) }
        // Release: every byte written above (padding header, record header, payload) becomes visible to the
        // consumer no later than the new head does; it loads head with acquire before reading them.
        self.head.store(start &+ LogRing.recordBytes(payload: length), ordering: .releasing)
        return true
    }

    /// Whether a record with this payload size would be accepted now. False for more than `maxPayload`.
    /// Producer thread only (it may refresh the producer's view of the consumer's position).
    public func canWrite(payloadBytes: Int) -> Bool {
        guard payloadBytes >= 0, payloadBytes <= LogRing.maxPayload else { return false }
        let head = self.head.load(ordering: .relaxed)
        return placement(head: head, recordBytes: LogRing.recordBytes(payload: payloadBytes)) != nil
    }

    /// Bytes written since the ring was made (skipped space included): the producer's position, never wrapped.
    /// Producer thread only.
    public var producedBytes: Int { head.load(ordering: .relaxed) }

    /// Producer thread only. Hands the kernel back the pages of free space more than `keep` bytes ahead of the next
    /// write (they read as zeros when a record next reaches them, which writes them whole anyway); returns the bytes
    /// given back. Without it, one large answer, or a few seconds of many slow streams, leaves the whole ring
    /// resident for good. Safe without the consumer's help: free space is the producer's alone, and a tail read now
    /// can only have moved further by the time the pages go.
    @discardableResult
    public func releaseFreePages(keepingAhead keep: Int) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let head = self.head.load(ordering: .relaxed)
        // Acquire: the consumer has finished reading every byte before `tail`.
        let tail = self.tail.load(ordering: .acquiring)
        let from = (head &+ max(0, keep) &+ page &- 1) & ~(page &- 1)
        let to = (tail &+ capacity) & ~(page &- 1)
        guard to &- from >= page else { return 0 }
        // [from, to) in positions is at most one lap: at most two ranges of the buffer.
        let start = from & mask
        let firstLength = min(to &- from, capacity &- start)
        _ = madvise(buffer + start, firstLength, MADV_DONTNEED)
        if firstLength < to &- from { _ = madvise(buffer, (to &- from) &- firstLength, MADV_DONTNEED) }
        return to &- from
    }

    /// Bytes of the ring in memory now (mincore(2)): for tests and for an operator's questions, not the hot path.
    public var residentBytes: Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: capacity / page)
        guard mincore(buffer, capacity, &vector) == 0 else { return -1 }
        return vector.reduce(0) { $0 + Int($1 & 1) } * page
    }

    /// Where a record of `recordBytes` starts if it fits now: at `head`, or at offset 0 of the next lap when it does
    /// not fit before the end of the buffer (the bytes in between are then skipped). Nil when there is not room.
    @inline(__always)
    private func placement(head: Int, recordBytes: Int) -> Int? {
        let untilEnd = capacity &- (head & mask)
        let start = recordBytes <= untilEnd ? head : head &+ untilEnd
        let end = start &+ recordBytes
        if end &- cachedTail > capacity {
            // Acquire: pairs with the consumer's releasing store of tail, so its reads of the bytes it released
            // happen before this thread overwrites them.
            cachedTail = tail.load(ordering: .acquiring)
            if end &- cachedTail > capacity { return nil }
        }
        return start
    }

    @inline(__always)
    private func writeHeader(at offset: Int, kind: LogRecordKind, exchange: UInt64, length: Int) {
        // One aligned word for length, kind and the three zero bytes.
        let word = UInt64(UInt32(truncatingIfNeeded: length)) | UInt64(kind.rawValue) << 32
        words[offset >> 3] = word.littleEndian
        words[offset >> 3 &+ 1] = exchange.littleEndian
    }

    // MARK: Either side

    /// Bytes written and not yet released (skipped space included). Approximate from either thread, as the other
    /// side may move at any time; exact when neither is running.
    public var usedBytes: Int {
        // Tail first, with acquire so the head load cannot move before it: head is never behind a tail read
        // earlier, so the difference is not negative. It can exceed capacity if both moved in between; clamp.
        let tail = self.tail.load(ordering: .acquiring)
        let head = self.head.load(ordering: .acquiring)
        return min(max(head &- tail, 0), capacity)
    }

    // MARK: Consumer side

    /// Hands every record published so far to `body`, in order (padding skipped), then releases their space to the
    /// producer; with `maxBytes`, stops after the record that reaches that many ring bytes (the rest is left for the
    /// next call). Returns how many records were handed. Consumer thread only; `body` must not call `consume`.
    /// Space is released only when `consume` returns, so a slow `body` holds back the producer for that long.
    @discardableResult
    public func consume(maxBytes: Int = .max, _ body: (LogRecord) -> Void) -> Int {
        var position = tail.load(ordering: .relaxed)  // own index: only this thread stores it
        let start = position
        // Acquire: pairs with the producer's releasing store, so every byte of every record before `end` is visible.
        // Records the producer is writing now are beyond `end` and are left alone.
        let end = head.load(ordering: .acquiring)
        guard position != end else { return 0 }
        var count = 0
        while position != end {
            let offset = position & mask
            let untilEnd = capacity &- offset
            if untilEnd < LogRing.headerBytes {
                // The producer's rule: a record never starts with fewer than 16 bytes before the end, so a position
                // behind head with less than that left means the producer skipped them.
                precondition(untilEnd < end &- position, "LogRing corrupt: skip at \(position), head at \(end)")
                position &+= untilEnd
                continue
            }
            let word = UInt64(littleEndian: words[offset >> 3])
            let length = Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: word))
            guard let kind = LogRecordKind(rawValue: UInt8(truncatingIfNeeded: word >> 32)) else {
                preconditionFailure("LogRing corrupt: kind \(word >> 32) at \(position)")
            }
            let recordBytes = LogRing.recordBytes(payload: length)
            precondition(recordBytes <= untilEnd && recordBytes <= end &- position,
                         "LogRing corrupt: record of \(length) bytes at \(position), head at \(end)")
            position &+= recordBytes
            if kind == .padding { continue }
            let exchange = UInt64(littleEndian: words[offset >> 3 &+ 1])
            let payload = UnsafeRawBufferPointer(start: buffer + offset + LogRing.headerBytes, count: length)
            body(LogRecord(kind: kind, exchange: exchange, payload: payload))
            count &+= 1
            if position &- start >= maxBytes { break }
        }
        // Release: all reads of the records above happen before the producer, after its acquiring load of tail,
        // may overwrite their bytes.
        tail.store(position, ordering: .releasing)
        return count
    }

    // MARK: Arithmetic

    @inline(__always)
    static func padded(_ length: Int) -> Int { (length &+ 7) & ~7 }

    @inline(__always)
    static func recordBytes(payload length: Int) -> Int { headerBytes &+ padded(length) }
}

/// 128 bytes of nothing, stored to keep fields written by different threads off each other's cache lines.
typealias CacheLinePad = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                          UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
private let cacheLinePad: CacheLinePad = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
