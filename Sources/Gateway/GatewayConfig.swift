// Everything the gateway needs to run, already validated (the CLI turns flags and environment into this).
import TLS
import UV

public struct GatewayConfig: Sendable {
    public var listen: SocketAddress
    /// Where requests go, longest prefix first; a route with the prefix "" is the default (`--upstream`).
    /// A request no route matches gets 404.
    public var routes: [RouteConfig]
    /// The TLS client settings for `https://` upstreams (nil when no route needs TLS).
    public var tlsContext: TLSContext?

    /// Milliseconds. No response head within `upstreamTimeout` → 504; also the longest silence allowed
    /// between two reads of a response body.
    public var upstreamTimeout: UInt64 = 600_000
    public var connectTimeout: UInt64 = 10_000
    /// The whole request head must arrive within this (slow-loris guard).
    public var headerTimeout: UInt64 = 30_000
    /// An idle keep-alive client connection is closed after this.
    public var idleTimeout: UInt64 = 75_000
    /// On SIGTERM, in-flight exchanges get this long to finish.
    public var drainTimeout: UInt64 = 30_000

    public var maxHeadBytes = 64 * 1024
    /// Idle upstream connections kept per origin, and for how long (shorter than typical upstream
    /// keep-alive timeouts, so the gateway closes first rather than racing the upstream's close).
    public var poolMaxIdle = 256
    public var poolIdleTimeout: UInt64 = 30_000
    /// Client connections served at once by this gateway (one worker); more wait in the listen backlog.
    public var maxConnections = Int.max
    /// Several gateways (workers) listen on the same port (SO_REUSEPORT).
    public var reusePort = false
    /// With agents, every request must carry one agent's key (shared by every worker, with the agents' usage).
    public var agents: AgentRegistry?
    /// The largest request body kept so a route with several upstreams can send it again to the next (bytes).
    public var retryBodyMax = 1 << 20

    public init(listen: SocketAddress, routes: [RouteConfig], tlsContext: TLSContext? = nil) {
        self.listen = listen
        self.routes = routes
        self.tlsContext = tlsContext
    }

    /// One default route to `upstream`, reached directly.
    public init(listen: SocketAddress, upstream: UpstreamURL) {
        self.init(listen: listen, routes: [RouteConfig(prefix: "", upstream: upstream)])
    }
}
