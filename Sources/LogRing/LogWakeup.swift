// The doorbell beside a log ring: the loop thread rings it after publishing records, the logger thread sleeps on it
// when the ring is empty. An eventfd, so any number of rings before the logger wakes collapse into one wakeup.
import Glibc
import Synchronization

/// Usage: the producer publishes records, then calls `ringIfWaiting(usedBytes:)` (at most once per loop iteration,
/// never per record). The consumer sleeps in `wait(timeoutMilliseconds:untilRingHolds:unless:)`, either until any
/// record arrives (the ring is empty) or, while it lets records gather, until the ring holds a given number of bytes.
/// No wakeup is lost: the eventfd counter stays non-zero from `ring()` until the consumer's `wait` drains it, so a ring
/// between the consumer's look at the ring and its sleep makes that sleep return at once. The ring's data needs no
/// help from here: its own acquire/release ordering covers the records; this only decides when the consumer looks.
public final class LogWakeup: @unchecked Sendable {
    private let descriptor: Int32
    /// `close()` must run after both threads have stopped using the doorbell (a closed descriptor's number may be
    /// reused by the next open); this only makes a second `close()` harmless.
    private let closed = Atomic<Bool>(false)
    /// While the consumer sleeps in `wait(timeoutMilliseconds:untilRingHolds:unless:)`: the ring's fill, in bytes, at
    /// which a producer wakes it (1: any record). 0: the consumer is awake and looks at the ring without being told.
    private let wakeAtBytes = Atomic<Int>(0)

    public init() {
        // eventfd(2) is not in Swift's Glibc module (sys/eventfd.h is not part of it), so it is looked up by name.
        // EFD_NONBLOCK and EFD_CLOEXEC have the values of O_NONBLOCK and O_CLOEXEC (eventfd(2)). Non-blocking:
        // `ring()` must never block the loop, and `wait` drains with a read that must not block either.
        let fd = LogWakeup.eventfd(0, O_NONBLOCK | O_CLOEXEC)
        precondition(fd >= 0, "eventfd failed: errno \(errno)")
        descriptor = fd
    }

    deinit {
        close()
    }

    /// Producer: one write(2) adding 1 to the counter. Never blocks (the counter cannot realistically reach its
    /// 2^64 - 2 limit, the only case where a non-blocking eventfd write fails with EAGAIN).
    public func ring() {
        var one: UInt64 = 1
        while write(descriptor, &one, 8) < 0 && errno == EINTR {}
    }

    /// Producer, once per loop iteration that published records: rings only when the consumer sleeps and the ring
    /// now holds what it sleeps for. A consumer busy draining, or letting records gather below its mark, looks at
    /// the ring again without being told, so the loop makes no eventfd write for it (one write per iteration was the
    /// larger part of what logging cost the loop). The fence orders the records' publication before the mark's load;
    /// the consumer's fence orders its mark's store before its look at the ring: one of the two sees the other.
    /// `usedBytes` is read only while the consumer sleeps for a fill.
    @inline(__always)
    public func ringIfWaiting(usedBytes: @autoclosure () -> Int) {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        let mark = wakeAtBytes.load(ordering: .relaxed)
        if mark != 0 && (mark == 1 || usedBytes() >= mark) { ring() }
    }

    /// Consumer: sleeps up to `timeoutMilliseconds` until a producer finds the ring holding at least `bytes` (1: any
    /// record), announcing the mark to `ringIfWaiting` first; returns at once (true) when `hasWork` finds that already
    /// so. True if woken by a ring (or `hasWork`); false on timeout.
    public func wait(timeoutMilliseconds: Int32, untilRingHolds bytes: Int = 1, unless hasWork: () -> Bool) -> Bool {
        wakeAtBytes.store(max(bytes, 1), ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        defer { wakeAtBytes.store(0, ordering: .relaxed) }
        if hasWork() { return true }
        return wait(timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Consumer: waits up to `timeoutMilliseconds` (-1: no limit) for a ring, and drains the counter so the next wait
    /// sleeps again. True if it was rung; false on timeout or an interrupted poll (the caller looks at its ring
    /// either way, so a spurious false costs one extra look).
    public func wait(timeoutMilliseconds: Int32) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, timeoutMilliseconds) > 0 else { return false }
        var count: UInt64 = 0
        // Without EFD_SEMAPHORE one read returns the whole count and resets it to 0: any number of rings, one wakeup.
        return read(descriptor, &count, 8) == 8
    }

    /// Closes the eventfd. Call once both threads are done with the doorbell; later calls do nothing.
    public func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        _ = Glibc.close(descriptor)
    }

    private typealias EventFD = @convention(c) (UInt32, Int32) -> Int32
    private static let eventfd: EventFD = {
        // dlsym(RTLD_DEFAULT, ...): RTLD_DEFAULT is the null handle in glibc.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "eventfd") else {
            fatalError("eventfd not found in libc")
        }
        return unsafeBitCast(symbol, to: EventFD.self)
    }()
}
