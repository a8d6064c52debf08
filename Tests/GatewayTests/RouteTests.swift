// Route choice and path rewriting, forward proxy URLs, and NO_PROXY, as users write them.
@testable import Gateway
import Testing
import UV

private func table(_ routes: [(String, String)]) throws -> RouteTable {
    let configs = try routes.map { RouteConfig(prefix: $0.0, upstream: try UpstreamURL($0.1)) }
    let config = GatewayConfig(listen: SocketAddress(listen: "127.0.0.1:0")!, routes: configs)
    return RouteTable(configs, loop: EventLoop(), gatewayConfig: config, metrics: GatewayMetrics(routeLabels: configs.map(\.label)))
}

/// The path the upstream receives for `path` (the route's prefix bytes + the rest of the path).
private func forwarded(_ table: RouteTable, _ path: String) -> (upstream: String, path: String)? {
    let bytes = Array(path.utf8)
    return bytes.withUnsafeBytes { raw -> (String, String)? in
        guard let route = table.match(raw)?.upstreams[0] else { return nil }
        let rest = route.forwardedTarget(0..<bytes.count, in: raw)
        var out = route.targetPrefix + bytes[rest]
        if out.isEmpty { out = Array("/".utf8) }
        return (route.config.upstream.description, String(decoding: out, as: UTF8.self))
    }
}

@Test func theLongestPrefixWins() throws {
    let routes = try table([("", "http://default"), ("/v1/", "http://a"), ("/v1/chat/", "http://b"), ("/v1/chat/x", "http://c")])
    #expect(forwarded(routes, "/v1/chat/completions")?.upstream == "http://b")
    #expect(forwarded(routes, "/v1/chat/x")?.upstream == "http://c")
    #expect(forwarded(routes, "/v1/messages")?.upstream == "http://a")
    #expect(forwarded(routes, "/v1")?.upstream == "http://default")
    #expect(forwarded(routes, "/other")?.upstream == "http://default")
}

@Test func withoutADefaultUnmatchedPathsHaveNoRoute() throws {
    let routes = try table([("/openai/", "https://api.openai.com/")])
    #expect(forwarded(routes, "/anthropic/v1/messages") == nil)
    #expect(forwarded(routes, "/openai") == nil)  // the prefix is matched byte for byte
}

@Test func aURLWithAPathReplacesThePrefixAndOneWithoutKeepsIt() throws {
    let routes = try table([("/openai/", "https://api.openai.com/"), ("/claude/", "https://api.anthropic.com/v1/"),
                            ("/keep/", "http://k:8080"), ("/joined", "http://j/v2"), ("", "http://d/base")])
    #expect(forwarded(routes, "/openai/v1/chat/completions?x=1")?.path == "/v1/chat/completions?x=1")
    #expect(forwarded(routes, "/claude/messages")?.path == "/v1/messages")
    #expect(forwarded(routes, "/keep/v1/messages")?.path == "/keep/v1/messages")
    #expect(forwarded(routes, "/joined/x")?.path == "/v2/x")
    #expect(forwarded(routes, "/v1/messages")?.path == "/base/v1/messages")
    #expect(forwarded(routes, "/openai/")?.path == "/")
}

@Test func parsesForwardProxies() throws {
    let plain = try ForwardProxy("http://proxy.corp:3128")
    #expect(plain.host == "proxy.corp" && plain.port == 3128 && plain.authorization == nil)
    #expect(try ForwardProxy("proxy.corp:8080/").port == 8080)
    #expect(try ForwardProxy("http://proxy.corp").port == 80)
    // "Basic " + base64("agent:p@ss word"), the password percent-decoded first.
    let authenticated = try ForwardProxy("http://agent:p%40ss%20word@127.0.0.1:8888")
    #expect(authenticated.authorization == "Basic YWdlbnQ6cEBzcyB3b3Jk")
    #expect(authenticated.description == "127.0.0.1:8888")
    #expect(throws: UpstreamURL.ParseError.self) { try ForwardProxy("https://proxy.corp:443") }
    #expect(throws: UpstreamURL.ParseError.self) { try ForwardProxy("socks5://proxy.corp:1080") }
    #expect(throws: UpstreamURL.ParseError.self) { try ForwardProxy("http://user@proxy.corp:1") }
    // A bad URL's error does not repeat the password.
    do { _ = try ForwardProxy("ftp://agent:secret@proxy") } catch { #expect(!error.description.contains("secret")) }
}

@Test func noProxyRulesMatchHostsSubdomainsPortsAndEverything() {
    let rules = NoProxyRules("localhost, .internal.corp,example.com:8443 10.0.0.1")
    #expect(rules.exempts(host: "localhost", port: 443))
    #expect(rules.exempts(host: "api.internal.corp", port: 443))
    #expect(rules.exempts(host: "internal.corp", port: 80))
    #expect(rules.exempts(host: "example.com", port: 8443))
    #expect(!rules.exempts(host: "example.com", port: 443))
    #expect(rules.exempts(host: "10.0.0.1", port: 80))
    #expect(!rules.exempts(host: "10.0.0.10", port: 80))
    #expect(!rules.exempts(host: "notlocalhost", port: 80))
    #expect(!rules.exempts(host: "api.anthropic.com", port: 443))
    #expect(NoProxyRules("*").exempts(host: "api.anthropic.com", port: 443))
    #expect(!NoProxyRules("").exempts(host: "api.anthropic.com", port: 443))
}

@Test func theProxyComesFromTheFlagOrTheSchemesVariable() throws {
    let https = try UpstreamURL("https://api.anthropic.com")
    let http = try UpstreamURL("http://127.0.0.1:9000")
    let environment = ["HTTPS_PROXY": "http://secure:1", "http_proxy": "http://plain:2", "NO_PROXY": "127.0.0.1"]
    #expect(try forwardProxy(for: https, explicit: nil, environment: environment)?.host == "secure")
    #expect(try forwardProxy(for: http, explicit: nil, environment: environment) == nil)  // exempt
    #expect(try forwardProxy(for: http, explicit: nil, environment: ["http_proxy": "http://plain:2"])?.host == "plain")
    #expect(try forwardProxy(for: https, explicit: "http://flag:3", environment: environment)?.host == "flag")
    #expect(try forwardProxy(for: https, explicit: "", environment: environment) == nil)
}

@Test func aPrefixGivenAgainAddsFailoverUpstreamsInOrder() throws {
    let routes = try table([("/v1/", "http://first"), ("", "http://default"), ("/v1/", "http://second"), ("/v1/", "http://third")])
    let route = Array("/v1/messages".utf8).withUnsafeBytes { routes.match($0) }
    #expect(route?.upstreams.map(\.config.upstream.description) == ["http://first", "http://second", "http://third"])
    #expect(route?.index == 0, "one route, labelled once for metrics")
    #expect(routes.noneIndex == 2)
}
