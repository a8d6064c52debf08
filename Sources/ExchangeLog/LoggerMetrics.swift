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
    }

    /// Seconds from the request head to the first fragment that carried answer text.
    public let firstToken = LatencyHistogram()
    /// Nanoseconds between an exchange's end and its record being assembled, for the latest record.
    public let lagNanos = Atomic<UInt64>(0)
    /// Records whose answer reported tokens but whose model the price table does not know (or did not name):
    /// their cost_usd is null. Written by the logger thread only.
    public let costUnknownModel = Atomic<UInt64>(0)
    /// Per model; a model label is whatever the API answered, so their number is capped (the rest: "other").
    private let tokens = Mutex<[String: Tokens]>([:])
    static let maxModels = 256

    public init() {}

    /// Logger thread: one record assembled. The mutex is the logger's (the loop never takes it).
    func recorded(usage: Usage?, costUSD: Double?, firstTokenNanos: UInt64, endedMonotonic: UInt64, now: UInt64) {
        if firstTokenNanos > 0 { firstToken.observe(nanoseconds: firstTokenNanos) }
        if now > endedMonotonic { lagNanos.store(now - endedMonotonic, ordering: .relaxed) }
        // One writer: a plain load and store, as the loop's counters (no locked instruction).
        if let usage, usage.reportsTokens, costUSD == nil {
            costUnknownModel.store(costUnknownModel.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        }
        guard let usage, usage.inputTokens != nil || usage.outputTokens != nil else { return }
        tokens.withLock { table in
            var model = usage.model ?? "unknown"
            if table[model] == nil && table.count >= Self.maxModels { model = "other" }
            var counts = table[model] ?? Tokens()
            counts.exchanges &+= 1
            counts.input &+= UInt64(max(0, usage.inputTokens ?? 0))
            counts.output &+= UInt64(max(0, usage.outputTokens ?? 0))
            counts.cacheRead &+= UInt64(max(0, usage.cacheReadInputTokens ?? 0))
            counts.cacheCreation &+= UInt64(max(0, usage.cacheCreationInputTokens ?? 0))
            table[model] = counts
        }
    }

    public func tokensByModel() -> [String: Tokens] { tokens.withLock { $0 } }
}
