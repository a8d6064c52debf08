// The bytes of one body the logger keeps for a record (up to --log-body-max), in bounded memory: the first
// `BodyFiles.window` bytes (256 KiB) in memory, and once a body is longer, all of it in a spill file that grows as fragments
// arrive. At the record, a body up to `BodyFiles.inlineMax` is written into the line as before (read back from its
// spill file if it had one); a longer one stays in its file, renamed after the record, which names the file
// (README "The exchange log": `{"file": PATH, "bytes": N}`). So the logger's memory does not grow with body sizes.
import Glibc

/// Where spilled bodies go, and the sizes that decide it. One per logger (its thread only).
final class BodyFiles {
    /// `--log-body-dir`: the directory of body files (created when the first body spills).
    let directory: String
    /// Bodies longer than this are left in their file; shorter ones go into the line.
    let inlineMax: Int
    /// Bytes of a body held in memory before it spills (and between writes to its spill file).
    let window: Int
    /// Distinguishes the spill files of loggers sharing the directory.
    let instance: UInt16
    let warn: (String) -> Void
    private var directoryReady = false
    /// Where the bytes of exchanges that stay open are parked (see BodySpool): made by the first exchange parked.
    var spool: BodySpool {
        if let spoolStorage { return spoolStorage }
        let made = BodySpool(files: self, rollBytes: spoolRollBytes)
        spoolStorage = made
        return made
    }
    private var spoolStorage: BodySpool?
    private let spoolRollBytes: Int
    /// Bytes parked in the spool (0 before anything was).
    var parkedBytes: Int { spoolStorage?.parkedBytes ?? 0 }
    /// Writes what the spool gathered (nothing to do before anything was parked).
    func flushSpool() { spoolStorage?.flush() }
    /// Said once per failure spell, not per body.
    private var failing = false

    /// `window`: 256 KiB keeps a typical JSON answer (even a long one) off the disk; past it a body costs a write as
    /// it arrives and, up to `inlineMax`, a read at its end (at 64 KiB that halved the logger's MB/s on 190 KB answers).
    init(directory: String, inlineMax: Int = 1 << 20, window: Int = 256 * 1024, instance: UInt16,
         spoolRollBytes: Int = 64 << 20, warn: @escaping (String) -> Void = { _ in }) {
        self.directory = directory
        self.spoolRollBytes = spoolRollBytes
        self.inlineMax = inlineMax
        self.window = min(window, inlineMax)
        self.instance = instance
        self.warn = warn
    }

    func spillPath(exchange: UInt64, side: String) -> String {
        "\(directory)/.spill-\(String(instance, radix: 16))-\(String(exchange, radix: 16)).\(side)"
    }

    /// Creates the directory the first time it is needed; false if it cannot be made (reported).
    func prepareDirectory() -> Bool {
        if !directoryReady { directoryReady = makeDirectory(directory) }
        return directoryReady
    }

    /// Appends `bytes` to the file at `path` (creating it); false on any failure (reported once per spell).
    func append(_ bytes: UnsafeRawBufferPointer, to path: String) -> Bool {
        guard !bytes.isEmpty else { return true }
        _ = prepareDirectory()
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return failed("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return failed("writing \(path) failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
        failing = false
        return true
    }

    /// Reads the whole file at `path` into `out` (replacing its contents); false on failure.
    func read(_ path: String, into out: inout [UInt8], count: Int) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return failed("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(count)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while out.count < count {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min($0.count, count - out.count)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return failed("reading \(path) failed: \(n == 0 ? "file shorter than expected" : String(cString: strerror(errno)))") }
            chunk.withUnsafeBytes { out.appendBytes(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
        }
        return true
    }

    func remove(_ path: String) { unlink(path) }

    /// Cuts the file back to `count` bytes: a write that failed part-way leaves no bytes the record does not count.
    func cut(_ path: String, to count: Int) { _ = truncate(path, off_t(count)) }

    func rename(_ from: String, to: String) -> Bool {
        guard Glibc.rename(from, to) == 0 else {
            return failed("cannot rename \(from) to \(to): \(String(cString: strerror(errno)))")
        }
        return true
    }

    private func failed(_ message: String) -> Bool {
        if !failing { warn("log body files: \(message); bodies past \(window) bytes are cut until it works again") }
        failing = true
        return false
    }

    /// mkdir -p, no Foundation.
    private func makeDirectory(_ path: String) -> Bool {
        var partial = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            partial += component + "/"
            if mkdir(partial, 0o755) != 0 && errno != EEXIST {
                return failed("cannot create \(partial): \(String(cString: strerror(errno)))")
            }
        }
        return true
    }
}

/// One body as kept so far. The logger thread only.
struct KeptBody {
    /// The whole body while it is short; once spilled, what has not reached the file yet.
    private(set) var memory: [UInt8] = []
    /// The spill file, once part of the body is in it.
    private(set) var spillPath: String?
    /// Bytes kept (in memory and file together), at most the cap.
    private(set) var count = 0
    private(set) var truncated = false
    /// Bytes already in the spill file.
    private var fileCount = 0
    /// The spill file could not be started: the body stays in memory, up to what a line may hold inline (so a full
    /// disk costs what it cost before body files: the record, not the body).
    private var inMemoryOnly = false
    /// Nothing more is kept (the spill file stopped growing, or memory reached its bound).
    private var cut = false
    /// The body's first bytes, parked in the spool while its exchange stays open (in order; `memory` holds what came
    /// after them). Only a body that has no spill file of its own is parked.
    private(set) var parked: [SpoolExtent] = []
    private var parkedCount = 0
    /// Parked pieces past this are read back and parked again as one.
    static let piecesBeforeRewrite = 32
    /// After its first piece, a body parks what it gained only once it is this much: each piece is a read when the
    /// pieces are rewritten or the record written, and a held stream gains ~100 bytes a second (a piece a round was a
    /// read per event, ~1 µs of the logger's time each).
    static let laterPieceMinimum = 512
    /// A body in its own spill file moves what memory holds there once it is this much (a write to that file).
    static let spilledPieceMinimum = 16 * 1024

    var isSpilled: Bool { spillPath != nil }

    /// Capacity for a body that must hold `needed` bytes. Small bodies grow by a quarter, not by doubling: a held
    /// stream keeps its body so far for as long as it lasts, and doubling left a third of that memory unused on
    /// average. Past 16 KiB (a body that is arriving fast, not idling) doubling keeps the copies few.
    static func grown(_ capacity: Int, toHold needed: Int) -> Int {
        if needed > 16 * 1024 { return max(needed, capacity * 2) }
        return max(needed, (capacity + capacity / 4 + 63) & ~63)
    }

    /// Keeps what fits under `cap` of `bytes`; the rest is cut and the body marked truncated.
    mutating func append(_ bytes: UnsafeRawBufferPointer, cap: Int, files: BodyFiles?, exchange: UInt64, side: String) {
        var room = cut ? 0 : max(0, cap - count)
        if let files, inMemoryOnly { room = min(room, max(0, files.inlineMax - count)) }
        if bytes.count > room {
            truncated = true
            if let files, inMemoryOnly, count + room >= files.inlineMax { cut = true }
        }
        let taken = UnsafeRawBufferPointer(rebasing: bytes.prefix(room))
        guard !taken.isEmpty else { return }
        if memory.count + taken.count > memory.capacity {
            memory.reserveCapacity(Self.grown(memory.capacity, toHold: memory.count + taken.count))
        }
        memory.appendBytes(taken)
        count += taken.count
        if let files, !inMemoryOnly, memory.count + parkedCount >= files.window {
            unpark(files)  // the spill file starts with the body's first byte
            flush(files, exchange: exchange, side: side)
        }
    }

    /// Moves what memory holds to the end of the spill file (starting it when there is none).
    private mutating func flush(_ files: BodyFiles, exchange: UInt64, side: String) {
        let path = spillPath ?? files.spillPath(exchange: exchange, side: side)
        if spillPath == nil { files.remove(path) }  // a file of an earlier run with the same name
        if memory.withUnsafeBytes({ files.append($0, to: path) }) {
            spillPath = path
            fileCount += memory.count
            memory.removeAll(keepingCapacity: true)
        } else if spillPath == nil {
            // No file: keep the body in memory, bounded by what the line takes inline.
            files.remove(path)
            inMemoryOnly = true
            if memory.count > files.inlineMax {
                memory.removeLast(memory.count - files.inlineMax)
                count = memory.count
                truncated = true
                cut = true
            }
        } else {
            // The file stopped growing: the body is what reached it.
            files.cut(path, to: fileCount)
            memory.removeAll()
            count = fileCount
            truncated = true
            cut = true
        }
    }

    /// Writes what memory still holds to the spill file, so the file is the whole kept body.
    mutating func finishSpill(_ files: BodyFiles) {
        guard let path = spillPath, !memory.isEmpty else { return }
        if memory.withUnsafeBytes({ files.append($0, to: path) }) {
            fileCount += memory.count
        } else {
            files.cut(path, to: fileCount)
            count = fileCount
            truncated = true
        }
        memory.removeAll()
    }

    /// Moves what memory holds to the spool, after what is parked already (rewritten as one piece when there are many,
    /// or when they are in an older spool file, so the old file can go); a body in its own spill file moves it there.
    mutating func park(_ files: BodyFiles, exchange: UInt64, side: String) {
        guard !inMemoryOnly else { return }
        if spillPath != nil {
            if memory.count >= Self.spilledPieceMinimum { flush(files, exchange: exchange, side: side) }
            return
        }
        if parked.count >= Self.piecesBeforeRewrite || parked.contains(where: { $0.generation != files.spool.current }) {
            unpark(files)
        }
        guard !memory.isEmpty, parked.isEmpty || memory.count >= Self.laterPieceMinimum,
              let extent = memory.withUnsafeBytes({ files.spool.park($0) }) else { return }
        parked.append(extent)
        parkedCount += memory.count
        memory = []
    }

    /// Brings the parked bytes back in front of what memory holds, so `memory` is the whole body again (its record is
    /// being written, or it is about to spill). A piece that cannot be read cuts the body there.
    mutating func unpark(_ files: BodyFiles?) {
        guard !parked.isEmpty, let files else { return }
        var whole: [UInt8] = []
        whole.reserveCapacity(parkedCount + memory.count)
        var lost = false
        for extent in parked {
            if lost {
                files.spool.release(extent)
            } else if !files.spool.take(extent, into: &whole) {
                lost = true
            }
        }
        if !lost { whole.append(contentsOf: memory) }
        memory = whole
        parked = []
        parkedCount = 0
        if lost {
            count = memory.count
            truncated = true
            cut = true
        }
    }

    /// Back to empty for the next exchange (memory let go when a body grew it past `keep`); a spill file that was
    /// neither renamed nor read back is removed.
    mutating func reset(_ files: BodyFiles?, keep: Int) {
        if let path = spillPath {
            files?.remove(path)
            spillPath = nil
        }
        if !parked.isEmpty {
            if let files { for extent in parked { files.spool.release(extent) } }
            parked = []
        }
        parkedCount = 0
        if memory.capacity > keep { memory = [] } else if !memory.isEmpty { memory.removeAll(keepingCapacity: true) }
        count = 0
        fileCount = 0
        truncated = false
        inMemoryOnly = false
        cut = false
    }

    /// The spill file was renamed into place: nothing to remove.
    mutating func forgetSpill() { spillPath = nil }
}
