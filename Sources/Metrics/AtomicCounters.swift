// Counters one thread writes and any thread reads, without locks: each is an atomic word, written with a plain
// relaxed load and store by its single writer (no locked instruction on the hot path), read with relaxed loads
// by the admin endpoint. Totals are therefore exact; a reader may see one counter a moment before another.
import Synchronization

public final class AtomicCounters: @unchecked Sendable {
    private let base: UnsafeMutablePointer<Atomic<UInt64>>
    public let count: Int

    public init(count: Int) {
        self.count = count
        base = .allocate(capacity: count)
        for index in 0..<count { (base + index).initialize(to: Atomic(0)) }
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    /// Single writer only.
    @inline(__always)
    public func add(_ index: Int, _ amount: UInt64 = 1) {
        let counter = base + index
        counter.pointee.store(counter.pointee.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    @inline(__always)
    public func load(_ index: Int) -> UInt64 {
        (base + index).pointee.load(ordering: .relaxed)
    }
}

/// A latency histogram over fixed bucket bounds, stored in AtomicCounters: one count per bucket (the last is
/// +Inf), then the sum of the observations in nanoseconds, then their number.
public final class LatencyHistogram: @unchecked Sendable {
    /// Upper bounds in seconds, as Prometheus shows them: 1 ms to 5 minutes, LLM answers being slow.
    public static let boundsSeconds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                                                 10, 30, 60, 120, 300]
    private static let boundsNanos: [UInt64] = boundsSeconds.map { UInt64($0 * 1e9) }
    public let counters: AtomicCounters

    public init() {
        counters = AtomicCounters(count: Self.boundsSeconds.count + 3)
    }

    /// Single writer only.
    @inline(__always)
    public func observe(nanoseconds: UInt64) {
        var bucket = 0
        let bounds = Self.boundsNanos
        while bucket < bounds.count && nanoseconds > bounds[bucket] { bucket += 1 }
        counters.add(bucket)
        counters.add(Self.boundsSeconds.count + 1, nanoseconds)
        counters.add(Self.boundsSeconds.count + 2)
    }

    /// A consistent-enough snapshot: per-bucket counts (non-cumulative, +Inf last), sum in ns, count.
    public func snapshot() -> (buckets: [UInt64], sumNanos: UInt64, count: UInt64) {
        let buckets = (0...Self.boundsSeconds.count).map { counters.load($0) }
        return (buckets, counters.load(Self.boundsSeconds.count + 1), counters.load(Self.boundsSeconds.count + 2))
    }
}
