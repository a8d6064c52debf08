// The logger thread: the only consumer of one worker's ring. It sleeps on the doorbell, drains every record,
// assembles finished exchanges and hands each batch of lines to every sink. A failing sink is reported on
// stderr at most once a minute and counted; the gateway is never told to wait.
import Glibc
import LogRing
import Metrics
import Synchronization

public struct LoggerOptions: Sendable {
    public var bodyMax = 16 << 20
    /// `--log-body-dir`: where bodies longer than `bodyInlineMax` are kept, as files the records name (nil: in
    /// memory and inline, whatever their size).
    public var bodyDirectory: String?
    /// A kept body longer than this goes to a file instead of into the record's line.
    public var bodyInlineMax = 1 << 20
    /// Key for secret fingerprints; the same key gives the same fingerprint on every instance.
    public var redactionKey: [UInt8]
    public var instance: UInt16
    /// Headers whose value names an agent's session, first present wins (`--session-header`).
    public var sessionHeaders = LoggerOptions.defaultSessionHeaders
    /// With `--agents`: their names by index (records name the agent), and their shared usage (the logger charges
    /// each exchange's tokens and dollars to it, for the limits).
    public var agentNames: [String] = []
    public var agentUsage: AgentUsage?
    /// Claude Code's session header, then a generic one.
    public static let defaultSessionHeaders = ["x-claude-code-session-id", "x-session-id"]
    /// Prices for each record's cost_usd (`--prices`, else the table kgb ships); empty: every cost is null.
    public var prices = PriceTable()
    /// Where operator-facing warnings go (a failing sink); stderr unless the process routes them elsewhere.
    public var warn: @Sendable (String) -> Void = { message in
        var line = "kgb: \(message)\n"
        line.withUTF8 { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
    public init(redactionKey: [UInt8], instance: UInt16) {
        self.redactionKey = redactionKey
        self.instance = instance
    }
}

public final class ExchangeLogger: @unchecked Sendable {
    private let ring: LogRing
    private let wakeup: LogWakeup
    private let sinks: [LogSink]
    private let assembler: RecordAssembler
    private let stopping = Atomic<Bool>(false)
    private let reopenRequested = Atomic<Bool>(false)
    private let written = Atomic<Int>(0)
    private let failures = Atomic<Int>(0)
    private let lost = Atomic<Int>(0)
    /// When each failing sink was last reported (monotonic nanoseconds).
    private var lastReport: [ObjectIdentifier: UInt64] = [:]
    /// Sinks whose last write failed, with the records each has lost since (logger thread only).
    private var failing: [ObjectIdentifier: Int] = [:]
    private var thread: pthread_t?
    /// How long the logger lets records gather after each drain, at most (see `run`).
    static let gatherMilliseconds: Int32 = 20

    public let metrics = LoggerMetrics()
    private let warn: @Sendable (String) -> Void

    public init(ring: LogRing, wakeup: LogWakeup, sinks: [LogSink], options: LoggerOptions) {
        self.ring = ring
        self.wakeup = wakeup
        self.sinks = sinks
        warn = options.warn
        let warn = options.warn
        let files = options.bodyDirectory.map {
            BodyFiles(directory: $0, inlineMax: options.bodyInlineMax, instance: options.instance, warn: warn)
        }
        assembler = RecordAssembler(bodyMax: options.bodyMax, fingerprint: Fingerprint(key: options.redactionKey),
                                    instance: options.instance, metrics: metrics,
                                    sessionHeaders: options.sessionHeaders.map { $0.lowercased() }, prices: options.prices,
                                    bodyFiles: files)
        assembler.publishesPerBatch = true
        assembler.agentNames = options.agentNames
        assembler.agentUsage = options.agentUsage
    }

    /// False while any sink's last write failed (for /readyz).
    public var sinksHealthy: Bool { healthy.load(ordering: .relaxed) }
    private let healthy = Atomic<Bool>(true)

    /// Records handed to the sinks so far, failed sink writes, and records a sink could not write (a record
    /// lost by two sinks counts twice) — for metrics and tests.
    public var recordsWritten: Int { written.load(ordering: .relaxed) }
    public var sinkFailures: Int { failures.load(ordering: .relaxed) }
    public var recordsLost: Int { lost.load(ordering: .relaxed) }

    public func start() {
        // The thread holds the logger until it returns (released there); `stop` joins it.
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            let logger = Unmanaged<ExchangeLogger>.fromOpaque(context!).takeRetainedValue()
            logger.run()
            return nil
        }, context)
        precondition(result == 0, "pthread_create for the logger failed: \(result)")
        self.thread = thread
    }

    /// Asks every file sink to reopen (SIGHUP, after logrotate moved the files). Any thread.
    public func requestReopen() {
        reopenRequested.store(true, ordering: .releasing)
        wakeup.ring()
    }

    /// Writes everything already in the ring, closes the sinks, and returns when done. Call after the
    /// producer has stopped producing.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        wakeup.ring()
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
    }

    private func run() {
        // Named for ps/top and for bench/, which reads this thread's CPU time.
        // (pthread_setname_np is not visible to Swift here; /proc/thread-self/comm is the same thing.)
        if let comm = fopen("/proc/thread-self/comm", "w") {
            fputs("kgb-logger", comm)
            fclose(comm)
        }
        // One buffer for every batch: records are written into it as they are assembled (see RecordAssembler).
        let batch = OutputBuffer(capacity: Self.batchBytes + Self.batchBytes / 4)
        batch.reset(leading: sinks.first?.nextAppendOffset ?? 0)
        var batchLines = 0
        while true {
            // Sleeps only when the ring is empty (the loop rings only then); 100 ms bounds the delay of a record
            // whose doorbell raced with the sleep.
            _ = wakeup.wait(timeoutMilliseconds: 100) { ring.usedBytes > 0 }
            if reopenRequested.exchange(false, ordering: .acquiring) {
                for sink in sinks { report(sink) { try sink.reopen() } }
            }
            let stop = stopping.load(ordering: .acquiring)
            var count = 0
            var drained = 0
            repeat {
                count = ring.consume(maxBytes: Self.sliceBytes) { record in
                    drained &+= record.payload.count &+ 16
                    if assembler.apply(record, into: batch) { batchLines += 1 }
                }
                if batch.count > Self.batchBytes { flush(batch, lines: &batchLines) }
                // A drain of up to half the ring is a few milliseconds of work; where the loop shares the logger's
                // core, answers would wait that long. Between slices the loop gets the core back if it wants it.
                if count > 0 { sched_yield() }
            } while count > 0
            flush(batch, lines: &batchLines)
            assembler.parkLongOpen(now: RecordAssembler.monotonicNanos())
            for sink in sinks { sink.syncIfDue() }
            if stop { break }
            // A loop busy with streams publishes records every few microseconds, a few KB at a time; waking for each
            // cost the logger more CPU (context switch, poll, read, a write per batch) than analysing the bytes did
            // (and the loop an eventfd write per iteration: it rings only while the logger sleeps). So records gather
            // for up to 20 ms, or until the ring is half full, whichever comes first: about fifty wakeups a second
            // under load. Each wakeup costs more than its system calls (the loop's work in between leaves the
            // logger's code and data cold): against a fixed 5 ms sleep, and with the drain yielding between slices
            // (`sliceBytes`), this took ~0.1 µs off the logger's CPU per small exchange. The half-full mark keeps a
            // fast stream from filling the ring while the logger sleeps (or pausing a loop under --log-overflow
            // pause), and a drain that found the ring a quarter full goes on at once. Stop still drains everything.
            if !stopping.load(ordering: .relaxed) && drained < ring.capacity / 4 {
                let mark = ring.capacity / 2
                // stop() and requestReopen() ring regardless of the mark, so neither waits for the gathering.
                _ = wakeup.wait(timeoutMilliseconds: Self.gatherMilliseconds, untilRingHolds: mark) { ring.usedBytes >= mark }
            }
        }
        for sink in sinks { sink.close() }
    }

    /// Ring bytes the logger drains between yields (~120 small exchanges, ~0.2 ms): against one unbroken drain, wrk's
    /// p99 with the loop on the same core went from ~3.1 to ~1.8 ms for ~0.1 µs more logger CPU per exchange.
    static let sliceBytes = 128 << 10

    /// A batch goes to the sinks once it holds this much (or when the ring is drained).
    static let batchBytes = 1 << 20

    /// `lines`: the records in the batch, counted as they were added (counting the newlines of every batch for
    /// every sink was 8% of the logger's instructions).
    private func flush(_ batch: OutputBuffer, lines: inout Int) {
        assembler.publishTokens()
        guard !batch.isEmpty else { return }
        let bytes = batch.bytes
        for sink in sinks { report(sink, lines: lines) { try sink.write(contentsOf: bytes) } }
        written.add(lines, ordering: .relaxed)
        // The next batch placed for where the first sink's file will end, so its whole blocks go out in place.
        batch.reset(leading: sinks.first?.nextAppendOffset ?? 0)
        lines = 0
    }

    /// Runs one sink operation; counts what a failure lost and says so (once a minute while it lasts, and once
    /// when the sink works again, with the total).
    private func report(_ sink: LogSink, lines: Int = 0, _ work: () throws -> Void) {
        let key = ObjectIdentifier(sink)
        do {
            try work()
            if let lostWhileFailing = failing.removeValue(forKey: key) {
                lastReport[key] = nil
                warn("log sink \(sink.name) works again; \(lostWhileFailing) record(s) could not be written while it failed")
            }
        } catch {
            let lostNow = (error as? SinkError)?.linesLost ?? lines
            failing[key, default: 0] += lostNow
            failures.add(1, ordering: .relaxed)
            lost.add(lostNow, ordering: .relaxed)
            let now = RecordAssembler.monotonicNanos()
            if let last = lastReport[key], now - last < 60_000_000_000 {
                healthy.store(failing.isEmpty, ordering: .relaxed)
                return
            }
            lastReport[key] = now
            warn("log sink \(sink.name) failed: \(error) (\(failing[key]!) record(s) lost so far; reported at most once a minute; the gateway keeps serving)")
        }
        healthy.store(failing.isEmpty, ordering: .relaxed)
    }
}
