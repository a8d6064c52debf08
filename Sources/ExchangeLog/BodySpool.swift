// Where the logger parks the bytes of exchanges that stay open (held SSE streams, slow answers): one append-only
// file shared by every parked exchange, so an exchange open for minutes holds a few extents in memory instead of
// its heads and its body so far. Appends are gathered and written once per park round (one pwrite for thousands of
// exchanges); an extent is read back (pread) when its exchange's record is written.
//
// Disk: the file is unlinked as soon as it is opened (it vanishes with the process), and it is replaced by a new
// one ("generation") once it has grown past `rollBytes` or twice the bytes still parked; an old generation's file
// is closed, and its space freed, when its last extent is read back or rewritten (exchanges parked in an old
// generation move to the current one at their next park round). So the disk it takes is bounded by about twice what
// is parked, or two `rollBytes`.
import Glibc

/// A parked byte range: which generation's file, where, how long.
struct SpoolExtent {
    var generation: UInt32
    var length: UInt32
    var offset: UInt64
}

/// The logger thread's alone.
final class BodySpool {
    /// Its directory and warnings are the body files' (the spool lives beside them).
    private unowned let files: BodyFiles
    let rollBytes: Int

    private struct Generation {
        var descriptor: Int32
        /// Extents of it not yet read back or released.
        var live = 0
    }
    private var generations: [UInt32: Generation] = [:]
    private(set) var current: UInt32 = 0
    /// Bytes of the current generation already in its file.
    private var written = 0
    /// Appends not yet written (the end of the current generation).
    private var pending: [UInt8] = []
    private var failing = false
    /// Gathered appends past this are written before more are taken (one pwrite per 64 KiB of parked bytes).
    static let pendingLimit = 64 * 1024
    /// Bytes parked in every generation (for the roll rule and for tests).
    private(set) var parkedBytes = 0

    init(files: BodyFiles, rollBytes: Int = 64 << 20) {
        self.files = files
        self.rollBytes = rollBytes
        // Reserved once and kept: growing it from nothing each round left holes among the logger's small allocations.
        pending.reserveCapacity(Self.pendingLimit + 4096)
    }

    deinit {
        for generation in generations.values where generation.descriptor >= 0 { close(generation.descriptor) }
    }

    /// Open generations (files held), for tests.
    var generationCount: Int { generations.count }

    /// Parks `bytes`; nil when the spool cannot take them (the caller keeps them in memory).
    func park(_ bytes: UnsafeRawBufferPointer) -> SpoolExtent? {
        guard !bytes.isEmpty, bytes.count <= Int(UInt32.max) else { return nil }
        // While the file refuses writes, nothing more is gathered: exchanges stay in memory, as without a spool.
        if failing || pending.count >= Self.pendingLimit { guard flush() else { return nil } }
        if generations[current] == nil || written + pending.count >= max(rollBytes, 2 * parkedBytes) {
            guard startGeneration() else { return nil }
        }
        let extent = SpoolExtent(generation: current, length: UInt32(bytes.count), offset: UInt64(written + pending.count))
        pending.appendBytes(bytes)
        generations[current]!.live += 1
        parkedBytes += bytes.count
        return extent
    }

    /// Writes what was parked since the last call (once per park round). False if the file refused it: those extents
    /// are then still readable from memory until the next round, and the caller learns of the loss from `read`.
    @discardableResult
    func flush() -> Bool {
        guard !pending.isEmpty, let generation = generations[current] else { return true }
        var done = 0
        let ok = pending.withUnsafeBytes { bytes -> Bool in
            while done < bytes.count {
                let n = pwrite(generation.descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(written + done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                done += n
            }
            return true
        }
        guard ok else {
            report("writing the body spool failed: \(String(cString: strerror(errno)))")
            return false
        }
        written += pending.count
        if pending.capacity > 4 * Self.pendingLimit { pending = [] } else { pending.removeAll(keepingCapacity: true) }
        failing = false
        return true
    }

    /// Appends the extent's bytes to `out` and releases the extent. False if they could not be read (what was read
    /// is left out; the caller marks the body cut).
    func take(_ extent: SpoolExtent, into out: inout [UInt8]) -> Bool {
        defer { release(extent) }
        let length = Int(extent.length)
        if extent.generation == current, Int(extent.offset) >= written {
            // Still gathered in memory.
            let start = Int(extent.offset) - written
            guard start + length <= pending.count else { return false }
            pending.withUnsafeBytes { out.appendBytes(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)])) }
            return true
        }
        guard let generation = generations[extent.generation] else { return false }
        let before = out.count
        out.reserveCapacity(before + length)
        var done = 0
        var failed = false
        withUnsafeTemporaryAllocation(byteCount: min(length, 64 * 1024), alignment: 16) { chunk in
            while done < length {
                let n = pread(generation.descriptor, chunk.baseAddress, min(chunk.count, length - done), off_t(Int(extent.offset) + done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    failed = true
                    return
                }
                out.appendBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(chunk)[..<n]))
                done += n
            }
        }
        if failed {
            out.removeSubrange(before...)
            report("reading the body spool failed: \(String(cString: strerror(errno)))")
        }
        return !failed
    }

    /// The extent is no longer wanted; an old generation's file goes with its last extent.
    func release(_ extent: SpoolExtent) {
        guard var generation = generations[extent.generation] else { return }
        generation.live -= 1
        parkedBytes -= Int(extent.length)
        if generation.live == 0 && extent.generation != current {
            close(generation.descriptor)
            generations[extent.generation] = nil
        } else {
            generations[extent.generation] = generation
        }
    }

    /// A new, unnamed file for the appends from now on; the previous one stays open while extents live in it.
    private func startGeneration() -> Bool {
        guard flush(), files.prepareDirectory() else { return false }
        let path = "\(files.directory)/.spool-\(String(files.instance, radix: 16))-\(getpid())"

        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            report("cannot open \(path): \(String(cString: strerror(errno)))")
            return false
        }
        unlink(path)  // nameless from now on: gone with the descriptor, whatever happens to the process
        if let old = generations[current], old.live == 0 {
            close(old.descriptor)
            generations[current] = nil
        }
        current &+= 1
        generations[current] = Generation(descriptor: fd)
        written = 0
        return true
    }

    private func report(_ message: String) {
        if !failing { files.warn("log body spool: \(message); open exchanges stay in memory until it works again") }
        failing = true
    }
}
