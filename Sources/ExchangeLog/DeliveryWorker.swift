// One remote sink's delivery thread: it reads batches from the spool at the sink's cursor, hands each to the sink,
// and moves the cursor only when the sink has them. A store that is down is retried with exponential backoff and
// jitter (or after its Retry-After); a batch it refuses for good goes to the dead-letter directory, said and
// counted. The operator hears once when a sink goes down and once when it is back, not per batch.
import Dispatch
import Glibc
import Synchronization

public final class DeliveryWorker: @unchecked Sendable {
    public struct Settings: Sendable {
        /// A batch leaves when its oldest record has waited this long, or when it reaches `batchBytes`.
        public var batchMillis = 1000
        public var batchBytes = 1 << 20
        public var batchRecords = 10_000
        public init() {}
    }

    /// For /metrics (written by the delivery thread, read by the admin endpoint).
    public final class Metrics: @unchecked Sendable {
        public let delivered = Atomic<Int>(0)
        public let failures = Atomic<Int>(0)
        public let deadLettered = Atomic<Int>(0)
        /// When the oldest record not yet acknowledged was spooled (ms since the epoch; 0: caught up).
        public let oldestUnsentMillis = Atomic<Int>(0)

        /// Milliseconds that record has waited, now (0: caught up): it keeps growing while the sink is down.
        public var lagMillis: Int {
            let oldest = oldestUnsentMillis.load(ordering: .relaxed)
            return oldest == 0 ? 0 : max(0, Int(SystemClock.wallMillis()) - oldest)
        }
        public let up = Atomic<Bool>(true)
    }

    public let sink: RemoteSink
    public let index: Int
    public let metrics = Metrics()
    private let spool: Spool
    private let settings: Settings
    private let warn: @Sendable (String) -> Void
    private let stopping = Atomic<Bool>(false)
    /// Monotonic seconds after which a stopping worker gives up (what is left stays spooled for the next start).
    private let stopBy = Atomic<Double>(0)
    private let finished = DispatchSemaphore(value: 0)

    public init(spool: Spool, index: Int, sink: RemoteSink, settings: Settings, warn: @escaping @Sendable (String) -> Void) {
        self.spool = spool
        self.index = index
        self.sink = sink
        self.settings = settings
        self.warn = warn
    }

    public func start() {
        NamedThread.start(name: "kgb-delivery-\(index)") { [self] in
            run()
            finished.signal()
        }
    }

    /// Delivers what is spooled for up to `seconds` more, then stops; returns when the thread has.
    public func stop(within seconds: Double) {
        stopBy.store(Self.now() + seconds, ordering: .relaxed)
        stopping.store(true, ordering: .releasing)
        _ = finished.wait(timeout: .now() + seconds + 1)
        sink.close()
    }

    private static func now() -> Double { SystemClock.monotonicSeconds() }

    private var pastStopDeadline: Bool {
        stopping.load(ordering: .acquiring) && Self.now() >= stopBy.load(ordering: .relaxed)
    }

    private func run() {
        var cursor = spool.cursor(sink: index)
        var backoff = 0.5
        var downSince: Double?
        while !pastStopDeadline {
            let stop = stopping.load(ordering: .acquiring)
            // Cheap looks (sizes and one frame header) while a batch fills; the batch itself is read once.
            let (available, oldest) = spool.pending(from: cursor)
            guard let oldest, available > 0 else {
                metrics.oldestUnsentMillis.store(0, ordering: .relaxed)
                if stop { break }
                spool.waitForRecords(seconds: 0.2)
                continue
            }
            let waited = Int(SystemClock.wallMillis()) - Int(oldest)
            metrics.oldestUnsentMillis.store(Int(oldest), ordering: .relaxed)
            if !stop && waited < settings.batchMillis && available < settings.batchBytes {
                usleep(UInt32(min(settings.batchMillis - waited, 50)) * 1000)
                continue
            }
            let (records, next, _) = spool.read(sink: index, from: cursor, maxRecords: settings.batchRecords,
                                                maxBytes: settings.batchBytes)
            guard !records.isEmpty else {
                // Nothing readable: the reader skipped a corrupt stretch (counted and said once); move past it.
                if cursor < next {
                    spool.acknowledge(sink: index, upTo: next)
                    cursor = next
                } else {
                    spool.waitForRecords(seconds: 0.05)
                }
                continue
            }
            do {
                try sink.deliver(records)
            } catch {
                switch error.kind {
                case .reject:
                    deadLetter(records, at: cursor, because: error.message)
                case .retry(let after):
                    metrics.failures.add(1, ordering: .relaxed)
                    if downSince == nil {
                        downSince = Self.now()
                        metrics.up.store(false, ordering: .relaxed)
                        warn("log sink \(sink.name) is down: \(error.message); records wait in the spool \(spool.directory) and are retried")
                    }
                    let pause = after.map { min($0, 300) } ?? backoff * Double.random(in: 0.5...1)
                    backoff = min(backoff * 2, 30)
                    sleepUnlessStopping(pause)
                    continue
                }
            }
            if let since = downSince {
                warn("log sink \(sink.name) is back after \(Int(Self.now() - since)) s; delivering what the spool kept")
                downSince = nil
                metrics.up.store(true, ordering: .relaxed)
            }
            backoff = 0.5
            metrics.delivered.add(records.count, ordering: .relaxed)
            spool.acknowledge(sink: index, upTo: next)
            cursor = next
        }
    }

    private func sleepUnlessStopping(_ seconds: Double) {
        let until = Self.now() + seconds
        while Self.now() < until && !pastStopDeadline {
            usleep(UInt32(min(0.1, max(0.001, until - Self.now())) * 1_000_000))
        }
    }

    /// A refused batch is kept as NDJSON in DIR/dead-letter, named by time, sink and spool position.
    private func deadLetter(_ records: [[UInt8]], at cursor: SpoolCursor, because why: String) {
        metrics.deadLettered.add(1, ordering: .relaxed)
        let stamp = SystemClock.wallMillis() / 1000
        let path = "\(spool.directory)/dead-letter/\(stamp)-\(spool.sinkIDs[index])-\(cursor.segment)-\(cursor.offset).ndjson"
        var body: [UInt8] = []
        for record in records {
            body.append(contentsOf: record)
            body.append(0x0A)
        }
        let saved = FileSystem.write(body, to: path)
        warn("log sink \(sink.name) refused a batch of \(records.count) record(s): \(why); "
             + (saved ? "kept in \(path), not retried" : "and it could not be kept in \(path)"))
    }
}
