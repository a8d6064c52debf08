// Clocks, the environment, the host name and named threads, straight from libc and pthreads: what Foundation's
// Date, ProcessInfo and Thread gave the logger's side, without linking Foundation into the binary.
import Glibc

public enum SystemClock {
    /// Wall-clock milliseconds since the epoch (record stamps in the spool, dead-letter names, lag).
    public static func wallMillis() -> UInt64 { wallNanos() / 1_000_000 }

    public static func wallNanos() -> UInt64 { read(CLOCK_REALTIME) }

    /// Seconds on the monotonic clock: for intervals, which a change of the wall clock must not stretch.
    public static func monotonicSeconds() -> Double { Double(read(CLOCK_MONOTONIC)) / 1e9 }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var now = timespec()
        clock_gettime(clock, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

public enum ProcessEnvironment {
    /// The process's environment variables (the first of a name given twice wins, as getenv does), read once:
    /// kgb never changes its own environment.
    public static let variables: [String: String] = {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "="), result[String(text[..<equals])] == nil {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }()

    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A detached pthread running a closure, named for `top -H` and /proc/PID/task/*/comm (15 characters at most).
public enum NamedThread {
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
            // pthread_setname_np is not visible to Swift here; /proc/thread-self/comm is the same thing.
            if let comm = fopen("/proc/thread-self/comm", "w") {
                fputs(String(box.name.prefix(15)), comm)
                fclose(comm)
            }
            box.body()
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed: \(String(cString: strerror(status)))")
        pthread_detach(thread)
    }

    private final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
