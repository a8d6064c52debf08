// Where finished exchange records go. Sinks run on the logger thread only; each takes a batch of complete
// JSON lines at a time, so one line is never interleaved with another.
import Foundation

public protocol LogSink: AnyObject {
    var name: String { get }
    /// Writes complete lines (each ends in "\n"). Throws a message fit for an operator.
    func write(_ lines: [UInt8]) throws
    /// Reopens the destination (logrotate moved the file away).
    func reopen() throws
    func close()
}

public struct SinkError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Appends JSON lines to a file, creating its directory. SIGHUP reopens it.
public final class JSONLinesSink: LogSink {
    public let path: String
    private var file: UnsafeMutablePointer<FILE>?
    public var name: String { "jsonl:\(path)" }

    public init(path: String) throws {
        self.path = path
        try open()
    }

    private func open() throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw SinkError("cannot create directory \(directory): \(error.localizedDescription)")
            }
        }
        guard let opened = fopen(path, "a") else {
            throw SinkError("cannot open \(path) for appending: \(String(cString: strerror(errno)))")
        }
        file = opened
    }

    public func write(_ lines: [UInt8]) throws {
        guard let file else { try open(); return try write(lines) }
        let written = lines.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        if written != lines.count || fflush(file) != 0 {
            let reason = String(cString: strerror(errno))
            clearerr(file)
            throw SinkError("writing \(path) failed: \(reason)")
        }
    }

    public func reopen() throws {
        close()
        try open()
    }

    public func close() {
        if let file { fclose(file) }
        file = nil
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
