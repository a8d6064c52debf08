// The gateway on one event loop: the listener, the client connections it accepted, the upstream pool, and
// the drain on shutdown.
import HTTP1
import UV
import Bytes

/// Loop-owned: create, `start()` and `run()` on one thread.
public final class Gateway {
    public let loop: EventLoop
    public let config: GatewayConfig
    public let observer: any ExchangeObserver
    let routes: RouteTable
    public let metrics: GatewayMetrics
    /// Agent keys this loop has verified (with `--agents`).
    let agentKeys: AgentKeyCache?

    private var listener: TCPListener?
    private var clients: [ClientConnection] = []
    private var exchangeCounter: UInt64 = 0
    /// Where a rewritten head is built before it is copied into its stream's write buffers: one for the loop, since
    /// a head leaves (copied) in the turn it is built, so a held exchange keeps no head buffer of its own.
    var headOut = ByteBuffer()
    public private(set) var isDraining = false
    private var drainTimer: Timer?
    private var onStopped: (() -> Void)?
    /// Once a second, exchanges open for over a second let their parsed heads go (see `ClientConnection.releaseHeads`).
    private var headRelease: Timer?
    static let longExchangeNanos: UInt64 = 1_000_000_000

    public init(loop: EventLoop, config: GatewayConfig, observer: any ExchangeObserver = NoExchangeLog()) {
        self.loop = loop
        self.config = config
        self.observer = observer
        metrics = GatewayMetrics(routeLabels: RouteTable.prefixes(config.routes).map { $0.isEmpty ? "default" : $0 })
        routes = RouteTable(config.routes, loop: loop, gatewayConfig: config, metrics: metrics)
        agentKeys = config.agents.map { AgentKeyCache(agents: $0.agents.count) }
        headRelease = Timer(loop: loop) { [unowned self] in
            let now = EventLoop.hrtime()
            for client in clients { client.releaseHeads(ifOlderThan: Self.longExchangeNanos, now: now) }
        }
        headRelease?.start(repeatingEvery: 1_000)
        headRelease?.unref()
    }

    deinit { headOut.release() }

    /// Binds the listening socket. Throws the bind/listen error (port in use, permission).
    public func start() throws(UVError) {
        let listener = try TCPListener(loop: loop, address: config.listen, reusePort: config.reusePort) { [unowned self] stream in
            self.accept(stream)
        }
        let limit = config.maxConnections
        if limit < Int.max {
            listener.mustWait = { [unowned self] in
                guard self.clients.count >= limit else { return false }
                self.metrics.totals.add(GatewayMetrics.Total.acceptPauses.rawValue)
                return true
            }
        }
        self.listener = listener
    }

    /// The address actually bound (tells the port when listening on port 0).
    public var boundAddress: SocketAddress? { listener?.localAddress }

    private func accept(_ stream: TCPStream) {
        guard !isDraining else { stream.close(); return }
        let client = ClientConnection(gateway: self, stream: stream)
        client.slot = clients.count
        clients.append(client)
        metrics.totals.add(GatewayMetrics.Total.acceptedConnections.rawValue)
        metrics.adjust(.clientConnections, by: 1)
    }

    func remove(_ client: ClientConnection) {
        let slot = client.slot
        guard slot >= 0, slot < clients.count, clients[slot] === client else { return }
        clients.swapAt(slot, clients.count - 1)
        clients[slot].slot = slot
        clients.removeLast()
        client.slot = -1
        metrics.adjust(.clientConnections, by: -1)
        if let listener, listener.isWaiting, clients.count < config.maxConnections { listener.resumeAccepting() }
        if isDraining && clients.isEmpty { stopped() }
    }

    @inline(__always)
    func nextExchangeID() -> UInt64 {
        exchangeCounter &+= 1
        return exchangeCounter
    }

    /// Stops accepting, closes idle connections, lets in-flight exchanges finish (each connection closes
    /// after its current exchange), and calls `completion` when none is left or `drainTimeout` passes.
    public func drain(_ completion: @escaping () -> Void) {
        guard !isDraining else { return }
        isDraining = true
        onStopped = completion
        listener?.close()
        listener = nil
        for client in clients where client.isIdle { client.closeWhenIdle() }
        if clients.isEmpty { stopped(); return }
        let timer = Timer(loop: loop) { [unowned self] in
            for client in self.clients { client.abort() }
            self.stopped()
        }
        timer.start(milliseconds: config.drainTimeout)
        drainTimer = timer
    }

    /// Number of exchanges in flight (for drain progress messages).
    public var activeExchanges: Int { clients.filter { !$0.isIdle }.count }

    private func stopped() {
        drainTimer?.close()
        drainTimer = nil
        headRelease?.close()
        headRelease = nil
        routes.closePools()
        let completion = onStopped
        onStopped = nil
        completion?()
    }
}
