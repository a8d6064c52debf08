// Where finished exchange records go. Sinks run on the logger thread only; each takes a batch of complete
// JSON lines at a time, so one line is never interleaved with another.
import Glibc

public protocol LogSink: AnyObject {
    var name: String { get }
    /// Writes complete lines (each ends in "\n"). Throws a `SinkError` fit for an operator, saying how many of
    /// the lines were not written. A sink never leaves part of a line behind: a reader sees whole records only.
    func write(_ lines: [UInt8]) throws
    /// The same, from memory the caller keeps (the logger's batch buffer): a sink that only copies the bytes out
    /// takes them from there, without an array made for it.
    func write(contentsOf lines: UnsafeRawBufferPointer) throws
    /// Reopens the destination (logrotate moved the file away).
    func reopen() throws
    func close()
    /// Called at each logger wake-up (at least every 100 ms): the spool fsyncs when its second is up.
    func syncIfDue()
    /// Where in its file the next batch will most likely start (nil: no file, or no use for it). A batch whose bytes
    /// sit at that offset modulo 4 KiB in page-aligned memory goes to an O_DIRECT file without an aligned copy.
    var nextAppendOffset: Int? { get }
}

extension LogSink {
    public func syncIfDue() {}
    public var nextAppendOffset: Int? { nil }
    public func write(contentsOf lines: UnsafeRawBufferPointer) throws { try write(Array(lines)) }
}

public struct SinkError: Error, CustomStringConvertible {
    public let description: String
    /// How many of the batch's lines (records) did not reach the destination; nil: all of them.
    public let linesLost: Int?
    public init(_ description: String, linesLost: Int? = nil) {
        self.description = description
        self.linesLost = linesLost
    }
}

extension [UInt8] {
    /// The number of complete lines in a batch.
    var lineCount: Int { withUnsafeBytes { $0.lineCount } }
}

extension UnsafeRawBufferPointer {
    /// The number of complete lines in a batch.
    var lineCount: Int { reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }
}

/// Appends JSON lines to a file, creating its directory. SIGHUP reopens it.
///
/// On a regular file that allows it, batches go through `DirectAppender` (whole blocks with O_DIRECT, the partial
/// blocks at either end through the page cache); elsewhere (a pipe, /dev/full, tmpfs) through write(2) under O_APPEND. Either way
/// each batch is written under an exclusive flock(2) on the file and ends in a whole line, so kgb processes sharing
/// a file (two instances given the same --log) never write into each other's lines.
///
/// A failed write (a full disk, say) may have put part of the batch in the file. The file is cut back (direct: to
/// where it ended before the batch; buffered: to the end of the last whole line written), so the next record starts
/// on a line of its own and a reader never meets a fragment; if even the cut fails, the next batch starts with a
/// newline, so the fragment stays a line of its own that no reader takes for a record (it is not valid JSON).
public final class JSONLinesSink: LogSink {
    public let path: String
    /// O_WRONLY; O_APPEND only for buffered appends (pwrite under O_APPEND ignores its offset on Linux).
    private var fd: Int32 = -1
    private var direct: DirectAppender?
    private let allowDirect: Bool
    /// The last failed write left a fragment that could not be cut away.
    private var fragmentLeft = false
    public var name: String { "jsonl:\(path)" }
    /// Whether batches reach the file with O_DIRECT (tests, the bench).
    public var writesDirectly: Bool { direct != nil }
    public var nextAppendOffset: Int? { direct?.expectedEnd }
    /// Bytes the direct appender wrote from the batch's own memory (tests).
    var directBytesInPlace: Int { direct?.writtenInPlace ?? 0 }

    /// `direct`: false writes every batch through the page cache (write(2) under O_APPEND).
    public init(path: String, direct: Bool = true) throws {
        self.path = path
        allowDirect = direct
        try open()
    }

    private func open() throws {
        let directory = FileSystem.parent(of: path)
        if !directory.isEmpty {
            do { try FileSystem.createDirectories(directory) } catch {
                throw SinkError("cannot create directory \(directory): \(error)")
            }
        }
        let opened = Glibc.open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard opened >= 0 else {
            throw SinkError("cannot open \(path) for appending: \(String(cString: strerror(errno)))")
        }
        fd = opened
        direct = allowDirect ? DirectAppender(plain: fd) : nil
        if direct == nil { appendBuffered() }
    }

    private func appendBuffered() {
        direct = nil
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND)
    }

    public func write(_ lines: [UInt8]) throws {
        try lines.withUnsafeBytes { try write(contentsOf: $0) }
    }

    public func write(contentsOf lines: UnsafeRawBufferPointer) throws {
        guard !lines.isEmpty else { return }
        if fd < 0 { try open() }
        // Blocking, and held for one batch: the other holders are kgb logger threads doing the same.
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        defer { _ = flock(fd, LOCK_UN) }
        if let direct {
            do {
                try direct.append(lines)
                return
            } catch .unsupported {
                appendBuffered()
            } catch .failed(let error) {
                throw SinkError("writing \(path) failed: \(String(cString: strerror(error))); \(lines.lineCount) record(s) not written",
                                linesLost: lines.lineCount)
            }
        }
        if fragmentLeft {
            var newline: UInt8 = 0x0A
            guard Glibc.write(fd, &newline, 1) == 1 else {
                throw SinkError("writing \(path) failed: \(String(cString: strerror(errno)))", linesLost: lines.lineCount)
            }
            fragmentLeft = false
        }
        // O_APPEND: the batch goes at the end of the file, wherever that is now (logrotate may have cut it).
        let start = lseek(fd, 0, SEEK_END)
        let written = writeAll(lines)
        guard written < lines.count else { return }
        let reason = String(cString: strerror(errno))
        // Keep the whole lines that made it; cut away the fragment after them.
        let kept = lines[0..<written].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        let lost = UnsafeRawBufferPointer(rebasing: lines[kept...]).lineCount
        if written > kept {
            if start < 0 || ftruncate(fd, start + off_t(kept)) != 0 { fragmentLeft = true }
        }
        throw SinkError("writing \(path) failed: \(reason); \(lost) record(s) not written"
                        + (fragmentLeft ? ", and a partial line could not be removed (the next record starts on a new line)" : ""),
                        linesLost: lost)
    }

    /// write(2) until done or an error; returns the bytes written (errno tells why it stopped short).
    private func writeAll(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return offset
            }
            if n == 0 { errno = ENOSPC; return offset }
            offset += n
        }
        return offset
    }

    public func reopen() throws {
        close()
        try open()
    }

    public func close() {
        direct = nil
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

/// The same lines on standard output, for containers whose collector reads stdout.
public final class StandardOutputSink: LogSink {
    public var name: String { "stdout" }
    public init() {}

    public func write(_ lines: [UInt8]) throws {
        // write(2) straight to fd 1: no stdio buffer to flush, and whole batches of lines at a time.
        try lines.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SinkError("writing to stdout failed: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
    }

    public func reopen() throws {}
    public func close() {}
}
