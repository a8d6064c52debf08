// Appends to a regular file without going through the page cache: whole 4 KiB blocks with O_DIRECT, the partial
// last block with a plain pwrite, so the file ends where the bytes end after every append.
//
// Why: under sustained logging a buffered write(2) leaves dirty pages that the kernel's flusher writes back while the
// logger keeps appending, and the logger's own system time per record then doubled and more (bench/RESULTS.md,
// "Logger thread"); the page-cache copy and page allocation were the rest of it. Written directly, the bytes reach
// the disk by DMA and leave nothing dirty behind but the one partial block per batch.
import Glibc

final class DirectAppender {
    /// Alignment of offsets, lengths and the buffer for O_DIRECT: 4 KiB covers 512-byte and 4 KiB devices.
    static let blockSize = 4096

    enum Failure: Error {
        /// The file system refused a direct write (EINVAL): the caller goes back to buffered appends.
        case unsupported
        /// errno of the failed call; the file is as it was before the append.
        case failed(Int32)
    }

    /// The caller's descriptor (not owned): O_RDWR without O_APPEND (Linux's pwrite ignores the offset under
    /// O_APPEND). Used for the partial block, fstat, pread and ftruncate.
    private let plain: Int32
    /// The same open file, reopened through /proc with O_DIRECT (owned).
    private let direct: Int32
    /// Aligned staging: `stage[0..<staged]` are the file's bytes from `stageOffset` to its end, so the partial last
    /// block can be rewritten whole, directly, with what comes after it.
    private var stage: UnsafeMutableRawPointer
    private var capacity: Int
    private var stageOffset = -1  // unknown: the first append rebases at the file's end
    private var staged = 0
    /// Where the file ends, as far as this appender knows (someone else may have grown or cut it since).
    private var end: Int { stageOffset + staged }

    /// O_DIRECT is behind _GNU_SOURCE, which Swift's Glibc module does not define; its value differs by architecture.
    #if arch(x86_64) || arch(i386)
    static let oDirect: Int32 = 0o40000
    #else
    static let oDirect: Int32 = 0o200000  // arm64, and most others Linux runs Swift on
    #endif

    /// nil when the file cannot be opened for direct I/O (not a regular file, or a file system without O_DIRECT:
    /// tmpfs refuses it at open).
    init?(plain: Int32) {
        var info = stat()
        guard fstat(plain, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let reopened = open("/proc/self/fd/\(plain)", O_WRONLY | DirectAppender.oDirect | O_CLOEXEC)
        guard reopened >= 0 else { return nil }
        self.plain = plain
        direct = reopened
        capacity = 1 << 20
        stage = .allocate(byteCount: capacity, alignment: DirectAppender.blockSize)
    }

    deinit {
        _ = close(direct)
        stage.deallocate()
    }

    /// Appends `bytes` at the file's end (after bytes anyone else appended; at 0 after a truncation). On a thrown
    /// error the file is cut back to where it ended before; nothing of `bytes` stays. The caller holds the file's
    /// flock, so no other kgb process writes between the fstat and the writes.
    func append(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
        var info = stat()
        guard fstat(plain, &info) == 0 else { throw .failed(errno) }
        let size = Int(info.st_size)
        if size != end { try rebase(at: size) }
        reserve(staged + bytes.count)
        if let source = bytes.baseAddress, bytes.count > 0 {
            (stage + staged).copyMemory(from: source, byteCount: bytes.count)
        }
        let total = staged + bytes.count
        let whole = total & ~(DirectAppender.blockSize - 1)
        if whole > 0, let error = writeAll(direct, stage, whole, at: stageOffset) {
            cutBack(to: size)
            throw error == EINVAL ? .unsupported : .failed(error)
        }
        if total > whole, let error = writeAll(plain, stage + whole, total - whole, at: stageOffset + whole) {
            cutBack(to: size)
            throw .failed(error)
        }
        // Keep the new partial block (less than a block: one small move) as the start of the next direct write.
        if whole > 0 && total > whole { stage.copyMemory(from: stage + whole, byteCount: total - whole) }
        stageOffset += whole
        staged = total - whole
    }

    /// The file ends at `size` (someone appended, logrotate cut it, or this is the first append): stage its
    /// partial last block from the file.
    private func rebase(at size: Int) throws(Failure) {
        stageOffset = size & ~(DirectAppender.blockSize - 1)
        staged = 0
        let partial = size - stageOffset
        while staged < partial {
            let n = pread(plain, stage + staged, partial - staged, off_t(stageOffset + staged))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let error = n < 0 ? errno : EIO
                stageOffset = -1
                staged = 0
                throw .failed(error)
            }
            staged += n
        }
    }

    private func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        var size = capacity
        while size < needed { size *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: DirectAppender.blockSize)
        bigger.copyMemory(from: stage, byteCount: staged)
        stage.deallocate()
        stage = bigger
        capacity = size
    }

    /// A failed append may have put some of its bytes in the file: cut them off. The staged bytes are unchanged.
    private func cutBack(to size: Int) {
        if ftruncate(plain, off_t(size)) != 0 {
            stageOffset = -1  // unknown again: the next append rebases at whatever the end is then
            staged = 0
        }
    }

    /// pwrite(2) until done; nil, or the errno that stopped it.
    private func writeAll(_ fd: Int32, _ from: UnsafeMutableRawPointer, _ count: Int, at offset: Int) -> Int32? {
        var done = 0
        while done < count {
            let n = pwrite(fd, from + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if n == 0 { return ENOSPC }
            done += n
        }
        return nil
    }
}
