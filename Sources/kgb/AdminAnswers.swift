// What the admin endpoint answers: liveness, readiness (serving, sinks writable, not draining), metrics.

enum AdminAnswers {
    static func answer(path: String, workers: [Worker], draining: Bool, delivery: RemoteDelivery? = nil) -> AdminServer.Answer {
        switch path {
        case "/healthz":
            return AdminServer.Answer(status: 200, contentType: "text/plain", body: Array("ok\n".utf8))
        case "/readyz":
            var problems: [String] = []
            if draining { problems.append("draining") }
            if workers.contains(where: { $0.logger.map { !$0.sinksHealthy } ?? false }) {
                problems.append("a log sink is failing")
            }
            if problems.isEmpty { return AdminServer.Answer(status: 200, contentType: "text/plain", body: Array("ready\n".utf8)) }
            return AdminServer.Answer(status: 503, contentType: "text/plain",
                                      body: Array("not ready: \(problems.joined(separator: ", "))\n".utf8))
        case "/metrics":
            var exposition = MetricsExposition(workers: workers, draining: draining, version: KGBVersion.current, delivery: delivery)
            return AdminServer.Answer(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                      body: Array(exposition.render().utf8))
        default:
            return AdminServer.Answer(status: 404, contentType: "text/plain",
                                      body: Array("not found: the admin endpoint serves /healthz, /readyz and /metrics\n".utf8))
        }
    }
}
