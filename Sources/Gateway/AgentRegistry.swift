// The agents allowed to use the gateway (`--agents FILE`): each one's name, the digest of its key, the route
// prefixes it may use and its limits. Built once at start-up and shared read-only by every worker; what the agents
// are using right now is in `usage`, shared too.
import Metrics
import TLS

public struct AgentConfig: Sendable {
    public var name: String
    /// SHA-256 of the key the agent presents (`x-api-key: KEY` or `Authorization: Bearer KEY`).
    public var keyDigest: KeyDigest
    public var limits = AgentUsage.Limits()
    /// Path prefixes this agent may use; empty: every route.
    public var routes: [String] = []

    public init(name: String, keyDigest: KeyDigest) {
        self.name = name
        self.keyDigest = keyDigest
    }
}

public final class AgentRegistry: Sendable {
    public let agents: [AgentConfig]
    public let usage: AgentUsage
    private let byDigest: [KeyDigest: Int]
    private let routePrefixes: [[[UInt8]]]

    /// Names and key digests must be unique (the caller says which agent repeats which).
    public init(_ agents: [AgentConfig]) {
        self.agents = agents
        usage = AgentUsage(limits: agents.map(\.limits))
        var byDigest: [KeyDigest: Int] = [:]
        for (index, agent) in agents.enumerated() { byDigest[agent.keyDigest] = index }
        self.byDigest = byDigest
        routePrefixes = agents.map { $0.routes.map { Array($0.utf8) } }
    }

    public var names: [String] { agents.map(\.name) }

    /// The agent whose key this is.
    public func agent(presenting key: UnsafeRawBufferPointer) -> Int? {
        let digest = KeyDigest(of: key)
        guard let index = byDigest[digest], agents[index].keyDigest.matches(digest) else { return nil }
        return index
    }

    /// Whether `agent` may use the request path `path` (origin-form target).
    public func allows(_ agent: Int, path: UnsafeRawBufferPointer) -> Bool {
        let prefixes = routePrefixes[agent]
        if prefixes.isEmpty { return true }
        return prefixes.contains { prefix in
            prefix.count <= path.count && prefix.withUnsafeBytes { $0.elementsEqual(UnsafeRawBufferPointer(rebasing: path[..<prefix.count])) }
        }
    }

    /// Any limit that needs the tokens or dollars the log counts.
    public var needsUsage: Bool { agents.contains { $0.limits.tokensPerMinute != nil || $0.limits.usdPerDay != nil } }
}
