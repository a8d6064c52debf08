// The durable spool between the logger threads and the remote sinks: records are appended to segment files, each
// framed with its length, the time it was spooled and a CRC-32C, and stay there until every remote sink has
// acknowledged them. A record that reached the spool survives `kill -9` (the OS has it) and, once fsync'd (at least
// once a second, or every batch), a reboot. A torn tail after a crash fails its checksum and is cut off with a
// message, never replayed. Bounded: past `maxBytes`, the oldest segment goes and its unsent records are counted.
//
//   DIR/segments/<16 hex digits>.seg   [u32 length][u32 CRC-32C of the rest][u64 spooled at, ms][record JSON]...
//   DIR/cursors/<sink id>              "segment offset" of the first record that sink has not acknowledged
//   DIR/dead-letter/                   batches a sink refused for good (see DeliveryWorker)
internal import CZlib
import Dispatch
import Glibc
import Synchronization

public enum SpoolFsync: String, Sendable {
    /// fsync at most once a second (the logger checks at each wake-up, at least every 100 ms).
    case interval
    /// fsync after every batch the logger writes.
    case always
}

/// A position in the spool: a segment and a byte offset in it.
public struct SpoolCursor: Comparable, Sendable, CustomStringConvertible {
    public var segment: UInt64
    public var offset: Int

    public static func < (a: SpoolCursor, b: SpoolCursor) -> Bool { (a.segment, a.offset) < (b.segment, b.offset) }
    public var description: String { "\(segment) \(offset)" }
}

public final class Spool: LogSink, @unchecked Sendable {
    public let directory: String
    public let maxBytes: Int
    public let fsyncPolicy: SpoolFsync
    /// One per remote sink, in `--log` order.
    public let sinkIDs: [String]
    /// Segments close at this size: an eighth of the limit (at most 8 MiB), so dropping the oldest frees little.
    let segmentBytes: Int
    static let frameHeader = 16

    public struct Stats: Sendable {
        public var bytes = 0
        public var records = 0
        /// Per sink: records dropped because the spool was full, or unreadable (torn or corrupt).
        public var droppedFull: [Int]
        public var droppedCorrupt: [Int]
        /// fsyncs of the segment being written (what `--spool-fsync` governs).
        public var syncs = 0
    }

    private struct Segment {
        let number: UInt64
        var bytes: Int
        var records: Int
    }

    private struct State {
        var segments: [Segment] = []
        var fd: Int32 = -1
        var cursors: [SpoolCursor]
        var stats: Stats
        var unsynced = false
        /// Monotonic seconds of the last fsync and of the last "spool full" message.
        var lastSync = SystemClock.monotonicSeconds()
        var droppedSinceMessage = 0
        var lastDropMessage = -Double.infinity
    }

    private let state: Mutex<State>
    private let warn: @Sendable (String) -> Void
    /// Rung when records are appended, so idle delivery threads wake at once.
    private let arrivals = DispatchSemaphore(value: 0)
    private let waiting = Atomic<Int>(0)

    public var name: String { "spool:\(directory)" }

    public init(directory: String, maxBytes: Int, fsync: SpoolFsync, sinkIDs: [String],
                warn: @escaping @Sendable (String) -> Void) throws(SinkError) {
        self.directory = directory
        self.maxBytes = maxBytes
        segmentBytes = min(8 << 20, max(64 << 10, maxBytes / 8))
        self.fsyncPolicy = fsync
        self.sinkIDs = sinkIDs
        self.warn = warn
        for sub in ["segments", "cursors", "dead-letter"] {
            do { try FileSystem.createDirectories("\(directory)/\(sub)") } catch {
                throw SinkError("cannot create the spool directory \(directory)/\(sub): \(error)")
            }
        }
        var found: [Segment] = []
        let names = FileSystem.names(in: "\(directory)/segments") ?? []
        for name in names.sorted() where name.hasSuffix(".seg") {
            guard let number = UInt64(name.dropLast(4), radix: 16) else { continue }
            found.append(Segment(number: number, bytes: 0, records: 0))
        }
        var stats = Stats(droppedFull: Array(repeating: 0, count: sinkIDs.count),
                          droppedCorrupt: Array(repeating: 0, count: sinkIDs.count))
        // Every segment is checked whole: a crash may have torn the last one's tail (or, with no fsync, any
        // recent one's). What follows the first bad frame of a segment is cut off and said.
        for index in found.indices {
            let path = Self.path(directory, found[index].number)
            let (good, records, bad) = Self.scan(path)
            if bad > 0 {
                warn("spool: \(path): \(bad) byte(s) after offset \(good) are torn or corrupt (a crash while writing); cut off, not replayed")
                truncate(path, off_t(good))
                for sink in stats.droppedCorrupt.indices { stats.droppedCorrupt[sink] += bad > 0 ? 1 : 0 }
            }
            found[index].bytes = good
            found[index].records = records
        }
        let first = found.first?.number ?? 1
        var cursors: [SpoolCursor] = []
        for id in sinkIDs {
            var cursor = Self.readCursor(directory, id) ?? SpoolCursor(segment: first, offset: 0)
            // A cursor before the oldest segment (its records were dropped), or past a segment's cut-off end.
            if cursor.segment < first { cursor = SpoolCursor(segment: first, offset: 0) }
            if let segment = found.first(where: { $0.number == cursor.segment }), cursor.offset > segment.bytes {
                cursor.offset = segment.bytes
            }
            cursors.append(cursor)
        }
        stats.bytes = found.reduce(0) { $0 + $1.bytes }
        stats.records = found.reduce(0) { $0 + $1.records }
        state = Mutex(State(segments: found, cursors: cursors, stats: stats))
        // Appends go to a new segment: an old one is never written again, so its scan above stays true.
        try state.withLock { state throws(SinkError) in try Self.startSegment(&state, directory: directory) }
        if stats.records > 0 {
            warn("spool: \(stats.records) record(s) from an earlier run wait in \(directory) and will be delivered")
        }
    }

    // MARK: Writing (logger threads)

    /// Appends a batch of JSON lines, one record each.
    public func write(_ lines: [UInt8]) throws {
        // Frames, and where each ends, so a large batch can spread over segments (the limit stays fine-grained).
        var frames: [UInt8] = []
        var ends: [Int] = []
        frames.reserveCapacity(lines.count + 32)
        let now = SystemClock.wallMillis()
        var start = 0
        for index in lines.indices where lines[index] == 0x0A {
            if index > start {
                lines.withUnsafeBytes { Self.appendFrame(UnsafeRawBufferPointer(rebasing: $0[start..<index]), at: now, into: &frames) }
                ends.append(frames.count)
            }
            start = index + 1
        }
        guard !ends.isEmpty else { return }
        try state.withLock { state throws(SinkError) in
            var from = 0, frame = 0
            while frame < ends.count {
                if state.segments.last!.bytes > 0 && state.segments.last!.bytes + ends[frame] - from > segmentBytes {
                    try Self.startSegment(&state, directory: directory)
                }
                // As many frames as fit the segment (at least one).
                var upTo = frame + 1
                while upTo < ends.count && state.segments.last!.bytes + ends[upTo] - from <= segmentBytes { upTo += 1 }
                let count = ends[upTo - 1] - from
                let written = frames.withUnsafeBytes { Glibc.write(state.fd, $0.baseAddress! + from, count) }
                guard written == count else {
                    let why = written < 0 ? String(cString: strerror(errno)) : "short write"
                    // Whole frames only: cut back what part of these frames did land.
                    if written > 0 { _ = ftruncate(state.fd, off_t(state.segments[state.segments.count - 1].bytes)) }
                    throw SinkError("cannot write to the spool \(directory): \(why)", linesLost: ends.count - frame)
                }
                state.segments[state.segments.count - 1].bytes += count
                state.segments[state.segments.count - 1].records += upTo - frame
                state.stats.bytes += count
                state.stats.records += upTo - frame
                state.unsynced = true
                from = ends[upTo - 1]
                frame = upTo
                dropOldestWhileFull(&state)
            }
            if fsyncPolicy == .always { Self.sync(&state) }
        }
        wakeReaders()
    }

    /// fsync when a second has passed since the last one (the logger calls this at each wake-up).
    public func syncIfDue() {
        state.withLock { state in
            if state.unsynced && SystemClock.monotonicSeconds() - state.lastSync >= 1 { Self.sync(&state) }
        }
    }

    public func reopen() throws {}

    public func close() {
        state.withLock { state in
            Self.sync(&state)
            if state.fd >= 0 { Glibc.close(state.fd) }
            state.fd = -1
        }
        wakeReaders()
    }

    private static func sync(_ state: inout State) {
        if state.fd >= 0 {
            fsync(state.fd)
            state.stats.syncs += 1
        }
        state.unsynced = false
        state.lastSync = SystemClock.monotonicSeconds()
    }

    private static func appendFrame(_ record: UnsafeRawBufferPointer, at millis: UInt64, into out: inout [UInt8]) {
        var stamp = millis.littleEndian
        var crc = withUnsafeBytes(of: &stamp) { kgb_crc32c(0, $0.baseAddress, 8) }
        crc = kgb_crc32c(crc, record.baseAddress, record.count)
        var length = UInt32(8 + record.count).littleEndian
        var check = crc.littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: &check) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: &stamp) { out.append(contentsOf: $0) }
        out.append(contentsOf: record)
    }

    private static func startSegment(_ state: inout State, directory: String) throws(SinkError) {
        if state.fd >= 0 {
            fsync(state.fd)
            Glibc.close(state.fd)
        }
        let number = (state.segments.last?.number ?? 0) + 1
        let path = Self.path(directory, number)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SinkError("cannot create the spool segment \(path): \(String(cString: strerror(errno)))") }
        state.fd = fd
        state.segments.append(Segment(number: number, bytes: 0, records: 0))
    }

    /// Past the limit the oldest closed segment goes; each sink that had not sent its records counts them dropped.
    /// Said at most once a minute, with the running count.
    private func dropOldestWhileFull(_ state: inout State) {
        var dropped = 0
        while state.stats.bytes > maxBytes && state.segments.count > 1 {
            let oldest = state.segments.removeFirst()
            let next = state.segments[0].number
            for sink in state.cursors.indices where state.cursors[sink].segment <= oldest.number {
                let unsent = Self.records(in: Self.path(directory, oldest.number), from: state.cursors[sink].offset)
                state.stats.droppedFull[sink] += unsent
                dropped += unsent
                state.cursors[sink] = SpoolCursor(segment: next, offset: 0)
                Self.writeCursor(directory, sinkIDs[sink], state.cursors[sink])
            }
            state.stats.bytes -= oldest.bytes
            state.stats.records -= oldest.records
            unlink(Self.path(directory, oldest.number))
        }
        guard dropped > 0 else { return }
        state.droppedSinceMessage += dropped
        if SystemClock.monotonicSeconds() - state.lastDropMessage >= 60 {
            warn("spool: full (\(maxBytes) bytes, --spool-max-bytes): the oldest \(state.droppedSinceMessage) record(s) were dropped "
                 + "before a remote sink took them (counted in kgb_log_sink_dropped_records_total; said at most once a minute)")
            state.droppedSinceMessage = 0
            state.lastDropMessage = SystemClock.monotonicSeconds()
        }
    }

    // MARK: Reading (delivery threads)

    /// Up to `maxRecords` records (and about `maxBytes`) from `cursor` on, with the position after them and when the
    /// first was spooled (ms since the epoch). Corrupt frames end their segment's reading (counted, said).
    public func read(sink: Int, from cursor: SpoolCursor, maxRecords: Int, maxBytes: Int)
        -> (records: [[UInt8]], next: SpoolCursor, oldestMillis: UInt64?) {
        var records: [[UInt8]] = []
        var position = cursor
        var oldest: UInt64?
        var size = 0
        let segments = state.withLock { $0.segments.map { ($0.number, $0.bytes) } }
        for (number, end) in segments where number >= position.segment {
            if number > position.segment { position = SpoolCursor(segment: number, offset: 0) }
            while position.offset < end && records.count < maxRecords && size < maxBytes {
                // A frame at a time when it is large; else a buffer's worth of frames.
                guard let header = Self.pread(directory, number, at: position.offset, count: Self.frameHeader),
                      header.count == Self.frameHeader else { break }
                let length = Int(UInt32(littleEndian: header.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
                guard length >= 8, position.offset + 8 + length <= end else {
                    skipCorrupt(sink, number, position.offset)
                    position.offset = end
                    break
                }
                let want = min(end - position.offset, max(8 + length, min(maxBytes - size, 1 << 20)))
                guard let chunk = Self.pread(directory, number, at: position.offset, count: want) else { break }
                var at = 0
                while at + Self.frameHeader <= chunk.count && records.count < maxRecords && (size < maxBytes || at == 0) {
                    let frame = chunk.withUnsafeBytes { bytes -> (length: Int, ok: Bool, stamp: UInt64)? in
                        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                        guard length >= 8, at + 8 + length <= bytes.count else { return nil }
                        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self))
                        let crc = kgb_crc32c(0, bytes.baseAddress! + at + 8, length)
                        let stamp = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self))
                        return (length, crc == stored, stamp)
                    }
                    guard let frame else { break }  // continues in the next chunk
                    guard frame.ok else {
                        skipCorrupt(sink, number, position.offset + at)
                        at = end - position.offset
                        break
                    }
                    if oldest == nil { oldest = frame.stamp }
                    records.append(Array(chunk[(at + 16)..<(at + 8 + frame.length)]))
                    size += frame.length
                    at += 8 + frame.length
                }
                guard at > 0 else { break }
                position.offset += at
            }
            if records.count >= maxRecords || size >= maxBytes { break }
        }
        return (records, position, oldest)
    }

    private static func pread(_ directory: String, _ number: UInt64, at offset: Int, count: Int) -> [UInt8]? {
        let fd = open(path(directory, number), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress! + got, count - got, off_t(offset + got)) }
            if n <= 0 { break }
            got += n
        }
        return got == count ? buffer : Array(buffer[..<got])
    }

    /// What waits after `cursor`, without reading it: the bytes of its frames, and when the first was spooled (its
    /// header alone is read). A delivery thread asks this while a batch fills, many times a second.
    public func pending(from cursor: SpoolCursor) -> (bytes: Int, oldestMillis: UInt64?) {
        let segments = state.withLock { $0.segments.map { ($0.number, $0.bytes) } }
        var bytes = 0
        var first: (UInt64, Int)?
        for (number, end) in segments where number >= cursor.segment {
            let from = number == cursor.segment ? cursor.offset : 0
            guard end > from else { continue }
            bytes += end - from
            if first == nil { first = (number, from) }
        }
        guard let (number, offset) = first,
              let header = Self.pread(directory, number, at: offset, count: Self.frameHeader), header.count == Self.frameHeader else {
            return (bytes, nil)
        }
        return (bytes, UInt64(littleEndian: header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }))
    }

    private func skipCorrupt(_ sink: Int, _ segment: UInt64, _ offset: Int) {
        state.withLock { $0.stats.droppedCorrupt[sink] += 1 }
        warn("spool: segment \(segment) is corrupt at offset \(offset) for \(sinkIDs[sink]); the rest of that segment is skipped")
    }

    /// The sink has everything before `cursor`: remembered on disk, and segments every sink has passed are deleted.
    public func acknowledge(sink: Int, upTo cursor: SpoolCursor) {
        Self.writeCursor(directory, sinkIDs[sink], cursor)
        state.withLock { state in
            state.cursors[sink] = max(state.cursors[sink], cursor)
            let lowest = state.cursors.min()?.segment ?? 0
            while state.segments.count > 1 && state.segments[0].number < lowest {
                let done = state.segments.removeFirst()
                state.stats.bytes -= done.bytes
                state.stats.records -= done.records
                unlink(Self.path(directory, done.number))
            }
        }
    }

    public func cursor(sink: Int) -> SpoolCursor { state.withLock { $0.cursors[sink] } }

    /// Records a sink has not acknowledged yet.
    public func unsent(sink: Int) -> Int {
        state.withLock { state in
            let cursor = state.cursors[sink]
            var count = 0
            for segment in state.segments where segment.number >= cursor.segment {
                count += segment.number == cursor.segment
                    ? Self.records(in: Self.path(directory, segment.number), from: cursor.offset) : segment.records
            }
            return count
        }
    }

    public var stats: Stats { state.withLock { $0.stats } }

    /// Waits up to `seconds` for an append (a delivery thread with nothing to send).
    public func waitForRecords(seconds: Double) {
        waiting.add(1, ordering: .relaxed)
        _ = arrivals.wait(timeout: .now() + seconds)
        waiting.subtract(1, ordering: .relaxed)
    }

    private func wakeReaders() {
        for _ in 0..<waiting.load(ordering: .relaxed) { arrivals.signal() }
    }

    // MARK: Files

    /// A remote sink's name in the spool (its cursor file): its scheme and a hash of its destination, the same on
    /// every start with the same `--log`.
    public static func sinkID(for name: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let scheme = name.prefix { $0.isLetter || $0 == "+" }.replacing("+", with: "-")
        return "\(scheme)-\(String(hash, radix: 16))"
    }

    static func path(_ directory: String, _ number: UInt64) -> String {
        let hex = String(number, radix: 16)
        return "\(directory)/segments/\(String(repeating: "0", count: max(0, 16 - hex.count)) + hex).seg"
    }

    /// Bytes of whole, intact frames from the start; records among them; bytes after them.
    static func scan(_ path: String) -> (good: Int, records: Int, bad: Int) {
        guard let data = FileSystem.read(path) else { return (0, 0, 0) }
        var at = 0, records = 0
        data.withUnsafeBytes { bytes in
            while at + frameHeader <= bytes.count {
                let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                guard length >= 8, at + 8 + length <= bytes.count else { break }
                let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self))
                guard kgb_crc32c(0, bytes.baseAddress! + at + 8, length) == stored else { break }
                at += 8 + length
                records += 1
            }
        }
        return (at, records, data.count - at)
    }

    /// Intact records in a segment from `offset` on.
    static func records(in path: String, from offset: Int) -> Int {
        guard let data = FileSystem.read(path), offset < data.count else { return 0 }
        var at = offset, records = 0
        data.withUnsafeBytes { bytes in
            while at + frameHeader <= bytes.count {
                let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                guard length >= 8, at + 8 + length <= bytes.count else { break }
                at += 8 + length
                records += 1
            }
        }
        return records
    }

    static func readCursor(_ directory: String, _ id: String) -> SpoolCursor? {
        guard let data = FileSystem.read("\(directory)/cursors/\(id)") else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard parts.count == 2, let segment = UInt64(parts[0]), let offset = Int(parts[1]) else { return nil }
        return SpoolCursor(segment: segment, offset: offset)
    }

    /// Written to a temporary file and renamed over the old one: a crash leaves the old or the new. Not fsync'd (an
    /// fsync per batch was most of a delivery thread's CPU): after a power loss a cursor may be a little behind,
    /// and the records after it are sent again, which every remote sink takes without duplicating (by `id`).
    static func writeCursor(_ directory: String, _ id: String, _ cursor: SpoolCursor) {
        let path = "\(directory)/cursors/\(id)"
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        let text = Array("\(cursor.segment) \(cursor.offset)\n".utf8)
        _ = text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        Glibc.close(fd)
        rename(temporary, path)
    }
}
