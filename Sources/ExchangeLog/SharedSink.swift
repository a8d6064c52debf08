// One sink written by several workers' logger threads: each batch of whole lines goes in under a lock, so
// lines from different workers never interleave, and the destination closes when its last user closes it.
import Synchronization

public final class SharedSink: LogSink, @unchecked Sendable {
    private let sink: LogSink
    private let lock = Mutex<Int>(0)  // users still open

    public init(_ sink: LogSink, users: Int) {
        self.sink = sink
        lock.withLock { $0 = users }
    }

    public var name: String { sink.name }

    public func write(_ lines: [UInt8]) throws {
        try lock.withLock { _ in try sink.write(lines) }
    }

    public func write(contentsOf lines: UnsafeRawBufferPointer) throws {
        try lock.withLock { _ in try sink.write(contentsOf: lines) }
    }

    /// Every logger asks on SIGHUP; reopening an already reopened file is harmless.
    public func reopen() throws {
        try lock.withLock { _ in try sink.reopen() }
    }

    public func syncIfDue() { lock.withLock { _ in sink.syncIfDue() } }

    public func close() {
        lock.withLock { users in
            users -= 1
            if users == 0 { sink.close() }
        }
    }
}
