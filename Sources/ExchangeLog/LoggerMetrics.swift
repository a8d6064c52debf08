// What the logger thread knows and the loop does not: tokens by model (read from the answers), first-token
// latency (from the SSE analysis), and how far behind the exchanges the records are written.
import Metrics
import Synchronization

public final class LoggerMetrics: Sendable {
    public struct Tokens: Sendable {
        public var exchanges: UInt64 = 0
        public var input: UInt64 = 0
        public var output: UInt64 = 0
        public var cacheRead: UInt64 = 0
        public var cacheCreation: UInt64 = 0
        public init() {}

        /// Adds `other`'s counts to these (wrapping, as counters do).
        public mutating func add(_ other: Tokens) {
            exchanges &+= other.exchanges
            input &+= other.input
            output &+= other.output
            cacheRead &+= other.cacheRead
            cacheCreation &+= other.cacheCreation
        }
    }

    /// Seconds from the request head to the first fragment that carried answer text.
    public let firstToken = LatencyHistogram()
    /// Nanoseconds between an exchange's end and its record being assembled, for the latest record.
    public let lagNanos = Atomic<UInt64>(0)
    /// Open exchanges parked in the body spool, and the bytes parked there (see BodySpool): written by the logger
    /// thread at each park round and as parked exchanges end.
    public let parkedExchanges = Atomic<UInt64>(0)
    public let parkedBytes = Atomic<UInt64>(0)
    /// Records whose answer reported tokens but whose model the price table does not know (or did not name):
    /// their cost_usd is null. Written by the logger thread only.
    public let costUnknownModel = Atomic<UInt64>(0)
    /// Per model; a model label is whatever the API answered, so their number is capped (the rest: "other").
    private let tokens = Mutex<[String: Tokens]>([:])
    static let maxModels = 256

    public init() {}

    /// Logger thread: one record assembled. The mutex is the logger's (the loop never takes it).
    /// `tally`: where the record's tokens wait until `publish` (once per batch: a mutex and a dictionary per record
    /// were a twentieth of the logger's work per small exchange); without one they are published at once.
    /// `usage` is empty when the answer reported nothing.
    func recorded(usage: Usage, costUSD: Double?, firstTokenNanos: UInt64, tally: inout TokenTally, publishNow: Bool) {
        if firstTokenNanos > 0 { firstToken.observe(nanoseconds: firstTokenNanos) }
        // One writer: a plain load and store, as the loop's counters (no locked instruction).
        if usage.reportsTokens, costUSD == nil {
            costUnknownModel.store(costUnknownModel.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        }
        guard usage.inputTokens != nil || usage.outputTokens != nil else { return }
        var counts = Tokens()
        counts.exchanges = 1
        counts.input = UInt64(max(0, usage.inputTokens ?? 0))
        counts.output = UInt64(max(0, usage.outputTokens ?? 0))
        counts.cacheRead = UInt64(max(0, usage.cacheReadInputTokens ?? 0))
        counts.cacheCreation = UInt64(max(0, usage.cacheCreationInputTokens ?? 0))
        let model = usage.model ?? "unknown"
        tally.add(model, counts)
        if publishNow { publish(&tally) }
    }

    /// The lag gauge: from `endedMonotonic` (an exchange's end) to `now` (its record going to the sinks).
    func noteLag(endedMonotonic: UInt64, now: UInt64) {
        if endedMonotonic > 0 && now > endedMonotonic { lagNanos.store(now - endedMonotonic, ordering: .relaxed) }
    }

    /// Adds what `tally` holds to the table scrapes read, and empties it. Logger thread.
    func publish(_ tally: inout TokenTally) {
        guard !tally.models.isEmpty else { return }
        tokens.withLock { table in
            for (name, add) in tally.models {
                var model = name
                if table[model] == nil && table.count >= Self.maxModels { model = "other" }
                table[model, default: Tokens()].add(add)
            }
        }
        tally.models.removeAll(keepingCapacity: true)
    }

    public func tokensByModel() -> [String: Tokens] { tokens.withLock { $0 } }
}

/// Tokens by model not yet in `LoggerMetrics`' table: a short list (a batch is mostly one model), searched from the
/// model seen last. Logger thread only.
struct TokenTally {
    var models: [(model: String, tokens: LoggerMetrics.Tokens)] = []

    mutating func add(_ model: String, _ counts: LoggerMetrics.Tokens) {
        var index = models.count - 1
        while index >= 0 && models[index].model != model { index -= 1 }
        if index < 0 {
            models.append((model, LoggerMetrics.Tokens()))
            index = models.count - 1
        }
        models[index].tokens.add(counts)
    }
}
