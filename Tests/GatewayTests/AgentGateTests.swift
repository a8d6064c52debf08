// Which agent sent a request and whether it may go on, from request heads parsed by the real parser.
@testable import Gateway
import HTTP1
import Metrics
import TLS
import Testing

private func head(_ path: String, _ fields: [String]) -> HTTPHead {
    parsedRequestHead("POST \(path) HTTP/1.1\r\nHost: kgb\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n")
}

private func digest(_ key: String) -> KeyDigest { Array(key.utf8).withUnsafeBytes { KeyDigest(of: $0) } }

private func registry(_ limits: AgentUsage.Limits = AgentUsage.Limits(), routes: [String] = []) -> AgentRegistry {
    var bot = AgentConfig(name: "build-bot", keyDigest: digest("sk-bot"))
    bot.limits = limits
    bot.routes = routes
    return AgentRegistry([bot, AgentConfig(name: "laptop", keyDigest: digest("sk-laptop"))])
}

private func check(_ head: HTTPHead, _ registry: AgentRegistry, keys: AgentKeyCache? = nil) -> AgentGate.Verdict {
    AgentGate.check(head, path: RequestRules.originFormTarget(head), registry: registry,
                    keys: keys ?? AgentKeyCache(agents: registry.agents.count), now: 1_000_000_000_000)
}

@Test func anAgentsKeyWorksInEitherHeaderTheSDKsUse() {
    let agents = registry()
    #expect(check(head("/v1/messages", ["x-api-key: sk-bot"]), agents) == .admitted(agent: 0))
    #expect(check(head("/v1/chat/completions", ["Authorization: Bearer sk-laptop"]), agents) == .admitted(agent: 1))
    #expect(check(head("/v1/chat/completions", ["authorization: bearer   sk-laptop"]), agents) == .admitted(agent: 1),
            "the scheme is case-insensitive and spaces before the token are not part of it")
}

@Test func noKeyOrAnUnknownOneIsAnAuthenticationError() {
    let agents = registry()
    for fields in [[], ["x-api-key: sk-bot2"], ["x-api-key: sk-bo"], ["Authorization: Basic c2stYm90"], ["Authorization: Bearer"]] {
        guard case .refused(let failure, let agent) = check(head("/v1/messages", fields), agents) else {
            Issue.record("\(fields) admitted")
            continue
        }
        #expect(failure.status == 401 && failure.errorType.description == "authentication_error")
        #expect(agent == nil)
        #expect(!failure.message.contains("sk-"), "a key never appears in a message")
    }
}

@Test func anAgentOutsideItsRoutesIsForbidden() {
    let agents = registry(routes: ["/anthropic/"])
    #expect(check(head("/anthropic/v1/messages", ["x-api-key: sk-bot"]), agents) == .admitted(agent: 0))
    guard case .refused(let failure, let agent) = check(head("/openai/v1/chat/completions", ["x-api-key: sk-bot"]), agents) else {
        Issue.record("admitted outside its routes")
        return
    }
    #expect(failure.status == 403 && agent == 0)
}

@Test func aLimitRefusesWithRetryAfterAndNamesTheLimit() {
    let agents = registry(AgentUsage.Limits(maxConcurrent: 1))
    #expect(check(head("/v1/messages", ["x-api-key: sk-bot"]), agents) == .admitted(agent: 0))
    guard case .refused(let failure, let agent) = check(head("/v1/messages", ["x-api-key: sk-bot"]), agents) else {
        Issue.record("a second request admitted past max_concurrent = 1")
        return
    }
    #expect(failure.status == 429 && failure.errorType.description == "rate_limit_error" && agent == 0)
    #expect(failure.retryAfterSeconds == 1)
    #expect(failure.message.contains("max_concurrent"))
    let answer = String(decoding: failure.response(close: false), as: UTF8.self)
    #expect(answer.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n") && answer.contains("\r\nRetry-After: 1\r\n"))
    agents.usage.exchangeEnded(0)
    #expect(check(head("/v1/messages", ["x-api-key: sk-bot"]), agents) == .admitted(agent: 0), "released when the first ends")
}

@Test func aKeyDigestFromHexMatchesTheKeysDigest() {
    // sha256("sk-bot"), as `printf %s sk-bot | sha256sum` prints it.
    let hex = "dd90b0d2b373d7e09acabd05880b37733f6e8f91342df68f5aa81c2eb5b4f21f"
    #expect(KeyDigest(hex: hex) == digest("sk-bot"))
    #expect(KeyDigest(hex: hex.uppercased()) == digest("sk-bot"))
    #expect(KeyDigest(hex: hex) != digest("sk-bot "))
    #expect(KeyDigest(hex: "xyz") == nil)
    #expect(KeyDigest(hex: String(repeating: "0", count: 63)) == nil)
}

@Test func theKeyCacheAnswersLikeTheRegistryAndKeepsOnlyAgentsKeys() {
    let agents = registry()
    let keys = AgentKeyCache(agents: agents.agents.count)
    for _ in 0..<3 {
        #expect(check(head("/v1/messages", ["x-api-key: sk-bot"]), agents, keys: keys) == .admitted(agent: 0))
        #expect(check(head("/v1/messages", ["authorization: Bearer sk-laptop"]), agents, keys: keys) == .admitted(agent: 1))
        guard case .refused = check(head("/v1/messages", ["x-api-key: sk-bot-"]), agents, keys: keys) else {
            Issue.record("a key that extends an agent's key is not that agent's")
            return
        }
        guard case .refused = check(head("/v1/messages", ["x-api-key: sk-bo"]), agents, keys: keys) else {
            Issue.record("a prefix of an agent's key is not that agent's")
            return
        }
    }
    #expect(Array("sk-bot".utf8).withUnsafeBytes { keys.agent(presenting: $0) } == 0, "learned on first use")
    #expect(Array("sk-nobody".utf8).withUnsafeBytes { keys.agent(presenting: $0) } == nil, "unknown keys are not kept")
    // Full: further keys are verified every time, never wrongly answered.
    let small = AgentKeyCache(agents: 1)
    for index in 0..<20 { Array("key-\(index)".utf8).withUnsafeBytes { small.remember($0, agent: index) } }
    for index in 0..<20 {
        let found = Array("key-\(index)".utf8).withUnsafeBytes { small.agent(presenting: $0) }
        #expect(found == nil || found == index)
    }
}
