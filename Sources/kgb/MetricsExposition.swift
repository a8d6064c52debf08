// /metrics in the Prometheus text format (version 0.0.4), summed over the workers. Written by hand: the
// counters are lock-free words each loop writes on its own (see Sources/Metrics), and the Prometheus client
// packages update through locks the event loop must not take.
import ExchangeLog
import Gateway
import Metrics

struct MetricsExposition {
    let workers: [Worker]
    let draining: Bool
    let version: String
    let delivery: RemoteDelivery?
    private var out = ""

    init(workers: [Worker], draining: Bool, version: String, delivery: RemoteDelivery? = nil) {
        self.workers = workers
        self.draining = draining
        self.version = version
        self.delivery = delivery
    }

    mutating func render() -> String {
        out.reserveCapacity(16 * 1024)
        gauge("kgb_build_info", "The running version (always 1).", [("version", version)], 1)
        gauge("kgb_workers", "Event loops serving the port.", [], UInt64(workers.count))
        gauge("kgb_draining", "1 while shutting down (in-flight exchanges finishing).", [], draining ? 1 : 0)
        exchanges()
        let g = GatewayMetrics.Gauge.self
        gauge("kgb_client_connections", "Client connections open.", [], sumGauge(g.clientConnections))
        gauge("kgb_upstream_connections", "Upstream connections open (busy and idle).", [], sumGauge(g.upstreamConnections))
        gauge("kgb_upstream_idle_connections", "Idle upstream connections in the pools.", [], sumGauge(g.pooledConnections))
        let t = GatewayMetrics.Total.self
        counter("kgb_accepted_connections_total", "Client connections accepted.", sumTotal(t.acceptedConnections))
        header("kgb_worker_accepted_connections_total", "counter", "Client connections accepted, by worker (how SO_REUSEPORT spread them).")
        for worker in workers {
            sample("kgb_worker_accepted_connections_total", [("worker", String(worker.index))],
                   worker.gateway.metrics.totals.load(t.acceptedConnections.rawValue))
        }
        counter("kgb_accept_pauses_total", "Times --max-connections held new connections in the backlog.", sumTotal(t.acceptPauses))
        counter("kgb_upstream_failovers_total", "Exchanges moved to a route's next upstream (failover).", sumTotal(t.failovers))
        counter("kgb_request_body_bytes_total", "Request body bytes received from clients.", sumTotal(t.requestBodyBytes))
        counter("kgb_response_body_bytes_total", "Response body bytes sent to clients.", sumTotal(t.responseBodyBytes))
        histogram("kgb_upstream_connect_seconds", "From the request head to a new upstream connection ready (TCP, proxy, TLS).",
                  workers.map { $0.gateway.metrics.upstreamConnect })
        histogram("kgb_upstream_response_head_seconds", "From the request head to the upstream's response head (TTFB).",
                  workers.map { $0.gateway.metrics.upstreamHead })
        histogram("kgb_exchange_duration_seconds", "From the request head to the end of the exchange.",
                  workers.map { $0.gateway.metrics.exchangeDuration })
        logMetrics()
        if let delivery { remoteMetrics(delivery) }
        return out
    }

    /// The spool and each remote sink, labelled by the sink's name (without credentials).
    private mutating func remoteMetrics(_ delivery: RemoteDelivery) {
        let stats = delivery.spool.stats
        gauge("kgb_spool_bytes", "Bytes of records in the spool (waiting for a remote sink, or not yet deleted).", [], UInt64(stats.bytes))
        gauge("kgb_spool_records", "Records in the spool.", [], UInt64(stats.records))
        let sinks = delivery.workers.map { ($0, [("sink", $0.sink.name)]) }
        header("kgb_log_sink_delivered_records_total", "counter", "Records a remote sink acknowledged.")
        for (worker, labels) in sinks { sample("kgb_log_sink_delivered_records_total", labels, UInt64(worker.metrics.delivered.load(ordering: .relaxed))) }
        header("kgb_log_sink_delivery_errors_total", "counter", "Batches a remote sink could not take (retried).")
        for (worker, labels) in sinks { sample("kgb_log_sink_delivery_errors_total", labels, UInt64(worker.metrics.failures.load(ordering: .relaxed))) }
        header("kgb_log_sink_dead_letter_batches_total", "counter", "Batches a remote sink refused for good, kept in the spool's dead-letter directory.")
        for (worker, labels) in sinks { sample("kgb_log_sink_dead_letter_batches_total", labels, UInt64(worker.metrics.deadLettered.load(ordering: .relaxed))) }
        header("kgb_log_sink_up", "gauge", "1 while a remote sink takes batches, 0 while it is being retried.")
        for (worker, labels) in sinks { sample("kgb_log_sink_up", labels, worker.metrics.up.load(ordering: .relaxed) ? 1 : 0) }
        header("kgb_log_sink_lag_seconds", "gauge", "Age of the oldest record a remote sink has not acknowledged (0: caught up).")
        for (worker, labels) in sinks {
            out += "kgb_log_sink_lag_seconds{sink=\"\(Self.escape(labels[0].1))\"} \(Double(worker.metrics.lagMillis) / 1000)\n"
        }
        header("kgb_log_sink_dropped_records_total", "counter", "Records a remote sink will never get, by reason: the spool was full, or its copy was torn or corrupt.")
        for (index, (_, labels)) in sinks.enumerated() {
            sample("kgb_log_sink_dropped_records_total", labels + [("reason", "spool_full")], UInt64(stats.droppedFull[index]))
            sample("kgb_log_sink_dropped_records_total", labels + [("reason", "corrupt")], UInt64(stats.droppedCorrupt[index]))
        }
    }

    private mutating func exchanges() {
        header("kgb_exchanges_total", "counter", "Exchanges finished, by route, status (0: none sent) and outcome.")
        guard let first = workers.first?.gateway.metrics else { return }
        for route in first.routeLabels.indices {
            for status in 0..<GatewayMetrics.statusSlots {
                for outcome in GatewayMetrics.outcomes.indices {
                    let index = first.exchangeIndex(route: route, status: status, outcome: outcome)
                    let total = workers.reduce(UInt64(0)) { $0 &+ $1.gateway.metrics.exchanges.load(index) }
                    guard total > 0 else { continue }
                    sample("kgb_exchanges_total", [("route", first.routeLabels[route]), ("status", String(status)),
                                                    ("outcome", GatewayMetrics.outcomes[outcome].rawValue)], total)
                }
            }
        }
    }

    private mutating func logMetrics() {
        let logged = workers.filter { $0.logger != nil }
        gauge("kgb_log_ring_used_bytes", "Bytes waiting in the log rings.", [],
              logged.reduce(0) { $0 + UInt64($1.recorder!.ring.usedBytes) })
        gauge("kgb_log_ring_capacity_bytes", "Capacity of the log rings.", [],
              logged.reduce(0) { $0 + UInt64($1.recorder!.ring.capacity) })
        let c = LogCounter.self
        func sum(_ counter: LogCounter) -> UInt64 { logged.reduce(0) { $0 &+ $1.recorder!.counters.load(counter.rawValue) } }
        counter("kgb_log_dropped_bytes_total", "Body bytes left out of records (--log-overflow drop).", sum(c.droppedBytes))
        counter("kgb_log_pauses_total", "Times a reader paused for a full log ring (--log-overflow pause).", sum(c.pauses))
        counter("kgb_log_lost_records_total", "Records lost with the ring and its overflow queue full.", sum(c.lostRecords))
        counter("kgb_log_records_written_total", "Records handed to the sinks.",
                logged.reduce(0) { $0 &+ UInt64($1.logger!.recordsWritten) })
        counter("kgb_log_sink_errors_total", "Failed sink writes.", logged.reduce(0) { $0 &+ UInt64($1.logger!.sinkFailures) })
        counter("kgb_log_sink_records_lost_total", "Records a sink could not write (a full disk, say); once per sink that lost it.",
                logged.reduce(0) { $0 &+ UInt64($1.logger!.recordsLost) })
        gauge("kgb_log_parked_exchanges", "Open exchanges whose bytes wait in the body spool (open for over a second).", [],
              logged.reduce(0) { $0 &+ $1.logger!.metrics.parkedExchanges.load(ordering: .relaxed) })
        gauge("kgb_log_parked_bytes", "Bytes of open exchanges waiting in the body spool.", [],
              logged.reduce(0) { $0 &+ $1.logger!.metrics.parkedBytes.load(ordering: .relaxed) })
        let lag = logged.map { $0.logger!.metrics.lagNanos.load(ordering: .relaxed) }.max() ?? 0
        header("kgb_log_lag_seconds", "gauge", "From the end of the latest logged exchange to its record going to the log sinks (read once per batch).")
        out += "kgb_log_lag_seconds \(Double(lag) / 1e9)\n"
        histogram("kgb_first_token_seconds", "From the request head to the first answer text.",
                  logged.map { $0.logger!.metrics.firstToken })
        var models: [String: LoggerMetrics.Tokens] = [:]
        for worker in logged {
            for (model, counts) in worker.logger!.metrics.tokensByModel() {
                models[model, default: LoggerMetrics.Tokens()].add(counts)
            }
        }
        header("kgb_tokens_total", "counter", "Tokens the APIs reported, by model and kind.")
        for (model, counts) in models.sorted(by: { $0.key < $1.key }) {
            for (kind, value) in [("input", counts.input), ("output", counts.output), ("cache_read", counts.cacheRead),
                                  ("cache_creation", counts.cacheCreation)] {
                sample("kgb_tokens_total", [("model", model), ("kind", kind)], value)
            }
        }
        header("kgb_model_exchanges_total", "counter", "Exchanges whose answer reported usage, by model.")
        for (model, counts) in models.sorted(by: { $0.key < $1.key }) {
            sample("kgb_model_exchanges_total", [("model", model)], counts.exchanges)
        }
        counter("kgb_log_cost_unknown_model_total",
                "Records whose answer reported tokens for a model the price table does not know (their cost_usd is null).",
                logged.reduce(0) { $0 &+ $1.logger!.metrics.costUnknownModel.load(ordering: .relaxed) })
    }

    // MARK: Text format

    private func sumGauge(_ gauge: GatewayMetrics.Gauge) -> UInt64 {
        // Each worker's gauge is a count kept by +1/-1 in wrapping arithmetic; the sum is taken the same way.
        workers.reduce(0) { $0 &+ $1.gateway.metrics.gauges.load(gauge.rawValue) }
    }

    private func sumTotal(_ total: GatewayMetrics.Total) -> UInt64 {
        workers.reduce(0) { $0 &+ $1.gateway.metrics.totals.load(total.rawValue) }
    }

    private mutating func header(_ name: String, _ type: String, _ help: String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    private mutating func sample(_ name: String, _ labels: [(String, String)], _ value: UInt64) {
        out += name
        if !labels.isEmpty {
            out += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        out += " \(value)\n"
    }

    private mutating func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: UInt64) {
        header(name, "gauge", help)
        sample(name, labels, value)
    }

    private mutating func counter(_ name: String, _ help: String, _ value: UInt64) {
        header(name, "counter", help)
        sample(name, [], value)
    }

    private mutating func histogram(_ name: String, _ help: String, _ parts: [LatencyHistogram]) {
        header(name, "histogram", help)
        var buckets = [UInt64](repeating: 0, count: LatencyHistogram.boundsSeconds.count + 1)
        var sum: UInt64 = 0
        var count: UInt64 = 0
        for part in parts {
            let snapshot = part.snapshot()
            for index in buckets.indices { buckets[index] &+= snapshot.buckets[index] }
            sum &+= snapshot.sumNanos
            count &+= snapshot.count
        }
        var cumulative: UInt64 = 0
        for (index, bound) in LatencyHistogram.boundsSeconds.enumerated() {
            cumulative &+= buckets[index]
            out += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{le=\"+Inf\"} \(count)\n\(name)_sum \(Double(sum) / 1e9)\n\(name)_count \(count)\n"
    }

    static func escape(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
    }
}
