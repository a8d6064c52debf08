// Who may send a request, with `--agents`: the agent whose key the request carries (`x-api-key: KEY`, or
// `Authorization: Bearer KEY`, what the Anthropic and OpenAI SDKs send), whether it may use the route, and whether
// its limits let the request start now. Refusals are answered in the APIs' error shape (401, 403, 429).
import HTTP1
import Glibc
import Metrics

enum AgentGate {
    enum Verdict: Equatable {
        /// The agent may go on; its exchange counts in flight until it ends.
        case admitted(agent: Int)
        /// Refused: `agent` when the key was known (the record names it).
        case refused(GatewayFailure, agent: Int?)
    }

    static func check(_ head: HTTPHead, path: Range<Int>, registry: AgentRegistry, keys: AgentKeyCache, now: UInt64) -> Verdict {
        let found = withCredential(head) { key -> Int? in
            if let agent = keys.agent(presenting: key) { return agent }
            guard let agent = registry.agent(presenting: key) else { return nil }
            keys.remember(key, agent: agent)
            return agent
        }
        guard let agent = found ?? nil else {
            let presented = head.firstIndex(of: "x-api-key") != nil || head.firstIndex(of: "authorization") != nil
            return .refused(GatewayFailure(.unauthorized, presented ? "invalid agent key" : "an agent key is required (x-api-key or Authorization: Bearer)"),
                            agent: nil)
        }
        let name = registry.agents[agent].name
        guard head.withBytes(path, { registry.allows(agent, path: $0) }) else {
            return .refused(GatewayFailure(.forbidden, "agent \(name) may not use \(head.string(path))"), agent: agent)
        }
        // The calendar only matters to a dollar limit.
        let wall = registry.agents[agent].limits.usdPerDay == nil ? 0 : time(nil)
        let day = UInt64(max(0, wall)) / 86_400
        let toMidnight = 86_400 - Int(wall % 86_400)
        if let refusal = registry.usage.admit(agent, now: now, utcDay: day, secondsToMidnight: toMidnight) {
            return .refused(GatewayFailure(.rateLimited, "agent \(name) reached its \(refusal.limit.rawValue) limit (\(describe(refusal.limit, registry.agents[agent].limits)))",
                                           retryAfterSeconds: refusal.retryAfterSeconds), agent: agent)
        }
        return .admitted(agent: agent)
    }

    /// Calls `body` with the key the request presents, or returns nil when it presents none.
    static func withCredential<R>(_ head: HTTPHead, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        if let index = head.firstIndex(of: "x-api-key") {
            return head.withBytes(head.fields[index].value, body)
        }
        guard let index = head.firstIndex(of: "authorization") else { return nil }
        return head.withBytes(head.fields[index].value) { value -> R? in
            guard value.count > 7, ASCII.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: value[0..<7]), "bearer ") else { return nil }
            var start = 7
            while start < value.count && value[start] == UInt8(ascii: " ") { start += 1 }
            return body(UnsafeRawBufferPointer(rebasing: value[start...]))
        }
    }

    private static func describe(_ limit: AgentUsage.Refusal.Limit, _ limits: AgentUsage.Limits) -> String {
        switch limit {
        case .maxConcurrent: "\(limits.maxConcurrent ?? 0) at once"
        case .requestsPerMinute: "\(limits.requestsPerMinute ?? 0) requests per minute"
        case .tokensPerMinute: "\(limits.tokensPerMinute ?? 0) tokens per minute"
        case .usdPerDay: "$\(limits.usdPerDay ?? 0) per day"
        }
    }
}
