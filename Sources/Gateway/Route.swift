// Routes: the longest path prefix that matches a request picks its upstream, how the path is rewritten, and
// which headers are set on the way there (API keys the agents never hold).
import HTTP1
import Glibc
import UV

/// One route as configured (`--route PREFIX=URL`, `--route-header`, `[[route]]` in the config file).
public struct RouteConfig: Sendable {
    /// Matched against the start of the request path, byte for byte ("" matches every path: the default route).
    public var prefix: String
    public var upstream: UpstreamURL
    /// Set on every request of this route, replacing what the client sent under the same name.
    public var headers: [(name: String, value: String)] = []
    /// The forward proxy towards this upstream, already decided (flag, environment, NO_PROXY).
    public var proxy: ForwardProxy?

    public init(prefix: String, upstream: UpstreamURL) {
        self.prefix = prefix
        self.upstream = upstream
    }

    /// The path rule, as nginx's `proxy_pass` has it: a URL with a path replaces the matched prefix with that
    /// path; a URL without one forwards the request path as it is.
    public var replacesPrefix: Bool { !upstream.path.isEmpty }

    public var label: String { prefix.isEmpty ? "default" : prefix }
}

/// A route as the loop uses it: its prefix and, in the order given, the upstreams it may use (more than one:
/// failover, see ExchangeRelay).
final class Route {
    /// Position of the prefix in the configuration (the metrics' route label).
    let index: Int
    let prefix: [UInt8]
    let upstreams: [RouteUpstream]

    init(prefix: String, index: Int, upstreams: [RouteUpstream]) {
        self.index = index
        self.prefix = Array(prefix.utf8)
        self.upstreams = upstreams
    }
}

/// One upstream of a route: everything pre-serialised, so the hot path only compares and copies bytes.
final class RouteUpstream {
    let config: RouteConfig
    /// Bytes put before the rest of the path: the URL's path, preceded by `http://authority` when a plain-HTTP
    /// upstream is reached through a forward proxy (absolute-form, RFC 9112 §3.2.2).
    let targetPrefix: [UInt8]
    /// Bytes of the request path skipped before copying the rest (the matched prefix, when it is replaced).
    let skippedPrefixLength: Int
    let targetPrefixEndsWithSlash: Bool
    let host: [UInt8]
    /// `Name: value\r\n` lines added to the request head, and the (lower-case) names they replace.
    let extraFields: [UInt8]
    let replacedNames: [[UInt8]]
    /// Recorded in the log record's `upstream`.
    let upstreamLabel: [UInt8]
    let pool: UpstreamPool

    init(_ config: RouteConfig, loop: EventLoop, gatewayConfig: GatewayConfig, metrics: GatewayMetrics) {
        self.config = config
        let upstream = config.upstream
        var target: [UInt8] = []
        let absoluteForm = config.proxy != nil && upstream.scheme == .http
        if absoluteForm { target += Array("http://\(upstream.authority)".utf8) }
        target += Array(upstream.path.utf8)
        targetPrefix = target
        targetPrefixEndsWithSlash = upstream.path.hasSuffix("/")
        skippedPrefixLength = config.replacesPrefix ? config.prefix.utf8.count : 0
        host = Array(upstream.authority.utf8)
        var fields: [UInt8] = []
        for (name, value) in config.headers { fields += Array("\(name): \(value)\r\n".utf8) }
        var replaced = config.headers.map { Array($0.name.lowercased().utf8) }
        if absoluteForm, let authorization = config.proxy?.authorization {
            fields += Array("Proxy-Authorization: \(authorization)\r\n".utf8)
            replaced.append(Array("proxy-authorization".utf8))
        }
        // With agent keys, the client's credentials are the agent's: never sent on (the route's headers carry the
        // real ones).
        if gatewayConfig.agents != nil {
            for name in ["x-api-key", "authorization"] where !replaced.contains(Array(name.utf8)) { replaced.append(Array(name.utf8)) }
        }
        extraFields = fields
        replacedNames = replaced
        upstreamLabel = Array(upstream.description.utf8)
        pool = UpstreamPool(loop: loop, config: gatewayConfig, endpoint: UpstreamEndpoint(upstream, proxy: config.proxy),
                            metrics: metrics)
    }

    /// The request head for this route's upstream (HeadWriter's rules, this route's target, host and fields).
    func writeRequestHead(_ head: HTTPHead, target: Range<Int>, connectionOptions: ConnectionOptions, clientIP: [UInt8],
                          framing: BodyFraming, into out: inout some HeadOutput) {
        let forwarded = head.bytes.withUnsafeBytes { forwardedTarget(target, in: $0) }
        HeadWriter.upstreamRequest(head, target: forwarded, connectionOptions: connectionOptions,
                                   targetPrefix: targetPrefix, slashWhenEmpty: config.upstream.path.isEmpty,
                                   host: host, extraFields: extraFields, replacedNames: replacedNames,
                                   clientIP: clientIP, forwardedProto: "http", framing: framing, into: &out)
    }

    /// The request target towards the upstream, from the range of the client's origin-form path and query:
    /// the matched prefix skipped when it is replaced, and no doubled slash where the two parts meet.
    func forwardedTarget(_ target: Range<Int>, in bytes: UnsafeRawBufferPointer) -> Range<Int> {
        var start = target.lowerBound + min(skippedPrefixLength, target.count)
        if targetPrefixEndsWithSlash && start < target.upperBound && bytes[start] == UInt8(ascii: "/") { start += 1 }
        return start..<target.upperBound
    }
}

/// The routes of one loop, longest prefix first.
final class RouteTable {
    let routes: [Route]

    /// The index metrics use for requests no route matched.
    let noneIndex: Int

    init(_ configs: [RouteConfig], loop: EventLoop, gatewayConfig: GatewayConfig, metrics: GatewayMetrics) {
        let prefixes = RouteTable.prefixes(configs)
        routes = prefixes.enumerated().map { index, prefix in
            Route(prefix: prefix, index: index, upstreams: configs.filter { $0.prefix == prefix }.map {
                RouteUpstream($0, loop: loop, gatewayConfig: gatewayConfig, metrics: metrics)
            })
        }.sorted { $0.prefix.count > $1.prefix.count }
        noneIndex = prefixes.count
    }

    /// Each prefix once, in configuration order (a prefix given again adds an upstream to its route).
    static func prefixes(_ configs: [RouteConfig]) -> [String] {
        var seen: [String] = []
        for config in configs where !seen.contains(config.prefix) { seen.append(config.prefix) }
        return seen
    }

    /// The route for a request path (the target's bytes, origin-form), or nil when none matches.
    func match(_ path: UnsafeRawBufferPointer) -> Route? {
        for route in routes where route.prefix.count <= path.count {
            let matches = route.prefix.withUnsafeBytes { prefix in
                prefix.count == 0 || memcmp(prefix.baseAddress!, path.baseAddress!, prefix.count) == 0
            }
            if matches { return route }
        }
        return nil
    }

    func closePools() { for route in routes { for upstream in route.upstreams { upstream.pool.close() } } }
}
