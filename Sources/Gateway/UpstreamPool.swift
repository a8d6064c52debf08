// Idle keep-alive connections to the upstream, and a short-lived cache of its resolved addresses.
import UV

final class UpstreamPool {
    let loop: EventLoop
    let config: GatewayConfig
    private var idle: [UpstreamConnection] = []
    private var addresses: [SocketAddress] = []
    private var addressesExpire: UInt64 = 0
    /// Connections waiting for the same in-flight resolution.
    private var awaitingResolution: [UpstreamConnection] = []
    static let addressTTL: UInt64 = 30_000
    private(set) var isClosed = false

    init(loop: EventLoop, config: GatewayConfig) {
        self.loop = loop
        self.config = config
    }

    /// A connection for `owner`'s exchange: the most recently used idle one (its TCP state is warmest), or
    /// a new one, connecting.
    func acquire(for owner: ClientConnection) -> UpstreamConnection {
        if let connection = idle.popLast() {
            connection.idleSlot = -1
            connection.begin(for: owner)
            return connection
        }
        let connection = UpstreamConnection(pool: self)
        connection.begin(for: owner)
        if loop.now < addressesExpire {
            connection.connect(to: addresses)
        } else {
            awaitingResolution.append(connection)
            if awaitingResolution.count == 1 { resolve() }
        }
        return connection
    }

    private func resolve() {
        let upstream = config.upstream
        Resolver.resolve(loop: loop, host: upstream.host, port: upstream.port) { [self] result in
            let waiting = awaitingResolution
            awaitingResolution.removeAll()
            switch result {
            case .success(let resolved):
                addresses = resolved
                addressesExpire = loop.now + UpstreamPool.addressTTL
                for connection in waiting { connection.connect(to: resolved) }
            case .failure(let error):
                for connection in waiting {
                    connection.fail(.upstreamUnreachable, "cannot resolve upstream host '\(upstream.host)': \(error.message)")
                }
            }
        }
    }

    /// Takes back a connection whose exchange completed cleanly.
    func release(_ connection: UpstreamConnection) {
        connection.end()
        guard !isClosed, idle.count < config.poolMaxIdle, connection.isConnected else {
            connection.close()
            return
        }
        connection.idleSlot = idle.count
        idle.append(connection)
        connection.enterPool()
    }

    /// Drops a pooled connection (the upstream closed it, it timed out, or it spoke out of turn).
    func discard(_ connection: UpstreamConnection) {
        let slot = connection.idleSlot
        if slot >= 0 && slot < idle.count && idle[slot] === connection {
            idle.swapAt(slot, idle.count - 1)
            idle[slot].idleSlot = slot
            idle.removeLast()
        }
        connection.idleSlot = -1
        connection.close()
    }

    /// Closes every idle connection and keeps no more (shutdown).
    func close() {
        isClosed = true
        for connection in idle { connection.idleSlot = -1; connection.close() }
        idle.removeAll()
    }
}
