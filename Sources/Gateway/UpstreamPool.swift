// Idle keep-alive connections to one upstream (per route), a short-lived cache of the addresses connected to,
// and the TLS sessions its new connections resume.
import TLS
import UV

/// How connections to one upstream are made: straight to the origin, or to a forward proxy (a CONNECT tunnel
/// for HTTPS; absolute-form requests for plain HTTP), then TLS with the origin for HTTPS.
struct UpstreamEndpoint {
    let origin: UpstreamURL
    let proxy: ForwardProxy?

    init(_ origin: UpstreamURL, proxy: ForwardProxy?) {
        self.origin = origin
        self.proxy = proxy
        let authority = origin.host.contains(":") ? "[\(origin.host)]:\(origin.port)" : "\(origin.host):\(origin.port)"
        var request = "CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n"
        if let authorization = proxy?.authorization { request += "Proxy-Authorization: \(authorization)\r\n" }
        connectRequest = Array((request + "\r\n").utf8)
    }

    var connectHost: String { proxy?.host ?? origin.host }
    var connectPort: Int { proxy?.port ?? origin.port }
    var usesTLS: Bool { origin.scheme == .https }
    var tunnels: Bool { proxy != nil && usesTLS }
    /// The CONNECT request sent to the proxy when tunnelling.
    let connectRequest: [UInt8]

    /// What a connect error names: the proxy when there is one.
    var connectTarget: String { proxy.map { "forward proxy \($0)" } ?? "upstream \(origin.authority)" }
}

final class UpstreamPool {
    let loop: EventLoop
    let config: GatewayConfig
    let endpoint: UpstreamEndpoint
    /// The newest TLS session with this origin, offered by each new connection's handshake.
    let tlsSessions = TLSSessionCache()
    private var idle: [UpstreamConnection] = []
    private var addresses: [SocketAddress] = []
    private var addressesExpire: UInt64 = 0
    /// Connections waiting for the same in-flight resolution.
    private var awaitingResolution: [UpstreamConnection] = []
    static let addressTTL: UInt64 = 30_000
    private(set) var isClosed = false

    let metrics: GatewayMetrics

    init(loop: EventLoop, config: GatewayConfig, endpoint: UpstreamEndpoint, metrics: GatewayMetrics) {
        self.loop = loop
        self.config = config
        self.endpoint = endpoint
        self.metrics = metrics
    }

    /// A connection for `owner`'s exchange: the most recently used idle one (its TCP state is warmest), or
    /// a new one, connecting.
    func acquire(for handler: UpstreamResponseHandler) -> UpstreamConnection {
        if let connection = idle.popLast() {
            metrics.adjust(.pooledConnections, by: -1)
            connection.idleSlot = -1
            connection.begin(for: handler)
            return connection
        }
        let connection = UpstreamConnection(pool: self)
        connection.begin(for: handler)
        if loop.now < addressesExpire {
            connection.connect(to: addresses)
        } else {
            awaitingResolution.append(connection)
            if awaitingResolution.count == 1 { resolve() }
        }
        return connection
    }

    private func resolve() {
        let host = endpoint.connectHost
        Resolver.resolve(loop: loop, host: host, port: endpoint.connectPort) { [self] result in
            let waiting = awaitingResolution
            awaitingResolution.removeAll()
            switch result {
            case .success(let resolved):
                addresses = resolved
                addressesExpire = loop.now + UpstreamPool.addressTTL
                for connection in waiting { connection.connect(to: resolved) }
            case .failure(let error):
                for connection in waiting {
                    connection.connectorFailed(GatewayFailure(.upstreamUnreachable, "cannot resolve \(endpoint.proxy == nil ? "upstream" : "forward proxy") host '\(host)': \(error.message)"))
                }
            }
        }
    }

    /// Takes back a connection whose exchange completed cleanly.
    func release(_ connection: UpstreamConnection) {
        connection.end()
        guard !isClosed, idle.count < config.poolMaxIdle, connection.isReady else {
            connection.close()
            return
        }
        connection.idleSlot = idle.count
        idle.append(connection)
        metrics.adjust(.pooledConnections, by: 1)
        connection.enterPool()
    }

    /// Drops a pooled connection (the upstream closed it, it timed out, or it spoke out of turn).
    func discard(_ connection: UpstreamConnection) {
        let slot = connection.idleSlot
        if slot >= 0 && slot < idle.count && idle[slot] === connection {
            idle.swapAt(slot, idle.count - 1)
            idle[slot].idleSlot = slot
            idle.removeLast()
            metrics.adjust(.pooledConnections, by: -1)
        }
        connection.idleSlot = -1
        connection.close()
    }

    /// Closes every idle connection and keeps no more (shutdown).
    func close() {
        isClosed = true
        for connection in idle { connection.idleSlot = -1; connection.close() }
        metrics.adjust(.pooledConnections, by: -idle.count)
        idle.removeAll()
    }
}
