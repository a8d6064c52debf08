// What one worker's loop counts for /metrics. The loop is the only writer (plain relaxed stores into atomic
// words, no locks); the admin endpoint reads them from whichever loop serves it.
import Metrics

public final class GatewayMetrics: @unchecked Sendable {
    /// Status slots: 0 for "no response status" (e.g. the client left first), 100...599 as themselves.
    public static let statusSlots = 600
    public static let outcomes: [Outcome] = [.complete, .clientAborted, .upstreamError, .upstreamTimeout, .rejected]

    /// Route labels in configuration order, then "none" for requests no route matched.
    public let routeLabels: [String]
    /// Exchanges by route × status × outcome.
    public let exchanges: AtomicCounters
    public let gauges = AtomicCounters(count: Gauge.allCases.count)
    public let totals = AtomicCounters(count: Total.allCases.count)
    /// Seconds from the request head to: the upstream connection being ready (new connections only), the
    /// response head, the end of the exchange.
    public let upstreamConnect = LatencyHistogram()
    public let upstreamHead = LatencyHistogram()
    public let exchangeDuration = LatencyHistogram()

    public enum Gauge: Int, CaseIterable { case clientConnections, upstreamConnections, pooledConnections }
    public enum Total: Int, CaseIterable {
        case requestBodyBytes, responseBodyBytes, acceptedConnections, acceptPauses
        /// Exchanges moved to a route's next upstream.
        case failovers
    }

    init(routeLabels: [String]) {
        self.routeLabels = routeLabels + ["none"]
        exchanges = AtomicCounters(count: self.routeLabels.count * Self.statusSlots * Self.outcomes.count)
    }

    @inline(__always)
    public func exchangeIndex(route: Int, status: Int, outcome: Int) -> Int {
        (route * Self.statusSlots + status) * Self.outcomes.count + outcome
    }

    static func outcomeIndex(_ outcome: Outcome) -> Int {
        switch outcome {
        case .complete: 0
        case .clientAborted: 1
        case .upstreamError: 2
        case .upstreamTimeout: 3
        case .rejected: 4
        }
    }

    /// One finished exchange (loop thread).
    func exchangeEnded(route: Int, status: Int, outcome: Outcome, timing: ExchangeTiming) {
        let slot = (100..<600).contains(status) ? status : 0
        exchanges.add(exchangeIndex(route: route, status: slot, outcome: Self.outcomeIndex(outcome)))
        totals.add(Total.requestBodyBytes.rawValue, timing.requestBodyBytes)
        totals.add(Total.responseBodyBytes.rawValue, timing.responseBodyBytes)
        if timing.upstreamConnected > timing.started { upstreamConnect.observe(nanoseconds: timing.upstreamConnected - timing.started) }
        if timing.responseHead > timing.started { upstreamHead.observe(nanoseconds: timing.responseHead - timing.started) }
        if timing.ended > timing.started { exchangeDuration.observe(nanoseconds: timing.ended - timing.started) }
    }

    @inline(__always)
    func adjust(_ gauge: Gauge, by delta: Int) {
        gauges.add(gauge.rawValue, UInt64(bitPattern: Int64(delta)))
    }
}
