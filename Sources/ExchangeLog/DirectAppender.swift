// Appends to a regular file mostly without going through the page cache: the whole 4 KiB blocks of each batch with
// O_DIRECT, the partial blocks at either end (finishing the file's last block, and the batch's tail) with a plain
// pwrite, so the file ends where the bytes end after every append.
//
// Why: under sustained logging a buffered write(2) leaves dirty pages that the kernel's flusher writes back while the
// logger keeps appending, and the logger's own system time per record then doubled and more (bench/RESULTS.md,
// "Logger thread"); the page-cache copy and page allocation were the rest of it. Written directly, the bytes reach
// the disk by DMA and leave at most two dirty pages per batch.
//
// No block is ever written both ways: a direct write only covers blocks wholly past the file's end, which no reader
// can have in its page cache, so it never races the kernel's invalidation of a cached page (a reader could otherwise
// meet a stale page, zeros where the new bytes are, for a moment).
import Glibc
import Synchronization

final class DirectAppender {
    /// Alignment of offsets, lengths and the buffer for O_DIRECT: 4 KiB covers 512-byte and 4 KiB devices.
    static let blockSize = 4096

    enum Failure: Error {
        /// The file system refused a direct write (EINVAL): the caller goes back to buffered appends.
        case unsupported
        /// errno of the failed call; the file is as it was before the append.
        case failed(Int32)
    }

    /// The caller's descriptor (not owned), without O_APPEND (Linux's pwrite ignores the offset under O_APPEND):
    /// the partial blocks, fstat and ftruncate.
    private let plain: Int32
    /// The same open file, reopened through /proc with O_DIRECT (owned).
    private let direct: Int32
    /// Aligned copy of a batch's whole blocks (O_DIRECT needs the memory aligned too), for batches whose blocks do
    /// not already sit aligned in the caller's memory.
    private var stage: UnsafeMutableRawPointer
    private var capacity: Int
    /// Where the file ended after this appender's last append (or when it was opened): where the next one starts
    /// unless another process appended or the file was cut in between. Atomic: loggers of several workers append
    /// through one appender (under `SharedSink`'s lock, which ThreadSanitizer does not see).
    private let end: Atomic<Int>
    var expectedEnd: Int { end.load(ordering: .relaxed) }
    /// Bytes of whole blocks written from the caller's memory, without the aligned copy (tests, the bench).
    private let inPlace = Atomic<Int>(0)
    var writtenInPlace: Int { inPlace.load(ordering: .relaxed) }

    /// O_DIRECT is behind _GNU_SOURCE, which Swift's Glibc module does not define; its value differs by architecture
    /// (Linux's asm-generic/fcntl.h, and arm's and arm64's own).
    #if arch(arm64) || arch(arm)
    static let oDirect: Int32 = 0o200000
    #else
    static let oDirect: Int32 = 0o40000
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
        end = Atomic(Int(info.st_size))
        capacity = 1 << 20
        stage = .allocate(byteCount: capacity, alignment: DirectAppender.blockSize)
    }

    deinit {
        _ = close(direct)
        stage.deallocate()
    }

    /// Appends `bytes` at the file's end, wherever that is now (after bytes anyone else appended; at 0 after a
    /// truncation). On a thrown error the file is cut back to where it ended before: nothing of `bytes` stays. The
    /// caller holds the file's flock, so no other kgb process writes between the fstat and the writes.
    func append(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        var info = stat()
        guard fstat(plain, &info) == 0 else { throw .failed(errno) }
        let size = Int(info.st_size)
        let block = DirectAppender.blockSize
        // 1. The rest of the file's partial last block, through the page cache.
        let head = min(bytes.count, (block - size % block) % block)
        if head > 0, let error = writeAll(plain, source, head, at: size) {
            cutBack(to: size)
            throw .failed(error)
        }
        // 2. Whole blocks, directly: in place when the caller's memory has them aligned (it placed the batch for the
        // offset it expected), else from an aligned copy.
        let whole = (bytes.count - head) & ~(block - 1)
        if whole > 0 {
            var from = UnsafeRawPointer(source + head)
            if UInt(bitPattern: from) % UInt(block) != 0 {
                reserve(whole)
                stage.copyMemory(from: from, byteCount: whole)
                from = UnsafeRawPointer(stage)
            } else {
                inPlace.add(whole, ordering: .relaxed)
            }
            if let error = writeAll(direct, from, whole, at: size + head) {
                cutBack(to: size)
                throw error == EINVAL ? .unsupported : .failed(error)
            }
        }
        // 3. The tail, less than a block, through the page cache.
        let tail = bytes.count - head - whole
        if tail > 0, let error = writeAll(plain, source + head + whole, tail, at: size + head + whole) {
            cutBack(to: size)
            throw .failed(error)
        }
        end.store(size + bytes.count, ordering: .relaxed)
    }

    private func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        var size = capacity
        while size < needed { size *= 2 }
        stage.deallocate()
        stage = .allocate(byteCount: size, alignment: DirectAppender.blockSize)
        capacity = size
    }

    /// A failed append may have put some of its bytes in the file: cut them off.
    private func cutBack(to size: Int) {
        _ = ftruncate(plain, off_t(size))
    }

    /// pwrite(2) until done; nil, or the errno that stopped it.
    private func writeAll(_ fd: Int32, _ from: UnsafeRawPointer, _ count: Int, at offset: Int) -> Int32? {
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
