// The lock-free counters and histograms behind /metrics.
@testable import Gateway
import Metrics
import Testing

@Test func histogramsCountEachObservationInItsBucket() {
    let histogram = LatencyHistogram()
    histogram.observe(nanoseconds: 500_000)        // 0.5 ms → le 0.001
    histogram.observe(nanoseconds: 1_000_000)      // exactly 1 ms → le 0.001 (upper bounds are inclusive)
    histogram.observe(nanoseconds: 3_000_000)      // → le 0.005
    histogram.observe(nanoseconds: 400_000_000_000) // 400 s → +Inf
    let snapshot = histogram.snapshot()
    #expect(snapshot.buckets[0] == 2 && snapshot.buckets[2] == 1 && snapshot.buckets.last == 1)
    #expect(snapshot.buckets.reduce(0, +) == 4 && snapshot.count == 4)
    #expect(snapshot.sumNanos == 400_004_500_000)
}

@Test func gaugesGoUpAndDownAndExchangesLandInTheirSlot() {
    let metrics = GatewayMetrics(routeLabels: ["default", "/openai/"])
    metrics.adjust(.clientConnections, by: 3)
    metrics.adjust(.clientConnections, by: -2)
    #expect(metrics.gauges.load(GatewayMetrics.Gauge.clientConnections.rawValue) == 1)
    var timing = ExchangeTiming()
    timing.started = 1_000
    timing.responseHead = 2_001_000
    timing.ended = 5_001_000
    timing.responseBodyBytes = 42
    metrics.exchangeEnded(route: 1, status: 429, outcome: .complete, timing: timing)
    metrics.exchangeEnded(route: 2, status: 0, outcome: .rejected, timing: timing)
    #expect(metrics.exchanges.load(metrics.exchangeIndex(route: 1, status: 429, outcome: 0)) == 1)
    #expect(metrics.exchanges.load(metrics.exchangeIndex(route: 2, status: 0, outcome: 4)) == 1)
    #expect(metrics.routeLabels == ["default", "/openai/", "none"])
    #expect(metrics.totals.load(GatewayMetrics.Total.responseBodyBytes.rawValue) == 84)
    #expect(metrics.upstreamHead.snapshot().count == 2 && metrics.upstreamConnect.snapshot().count == 0)
}
