// Who sent an exchange, read from its request headers.
@testable import ExchangeLog
import Testing

private let fingerprint = Fingerprint(key: Array("test".utf8))

@Test func theSameKeyInEitherHeaderIsTheSameAgent() {
    let viaAPIKey = AgentIdentity(headers: [("X-Api-Key", "sk-1")], sessionHeaders: [], fingerprint: fingerprint)
    let viaBearer = AgentIdentity(headers: [("Authorization", "Bearer sk-1")], sessionHeaders: [], fingerprint: fingerprint)
    let other = AgentIdentity(headers: [("authorization", "bearer sk-2")], sessionHeaders: [], fingerprint: fingerprint)
    #expect(viaAPIKey.key != nil && viaAPIKey.key == viaBearer.key)
    #expect(other.key != viaAPIKey.key)
    #expect(viaAPIKey.key?.hasPrefix("sha256:") == true)
    #expect(viaAPIKey.key?.contains("sk-1") == false, "never the key itself")
}

@Test func noCredentialNoKeyAndBasicAuthIsNotAKey() {
    #expect(AgentIdentity(headers: [("Host", "x")], sessionHeaders: [], fingerprint: fingerprint).key == nil)
    #expect(AgentIdentity(headers: [("Authorization", "Basic dTpw")], sessionHeaders: [], fingerprint: fingerprint).key == nil)
}

@Test func theFirstSessionHeaderPresentWinsInTheConfiguredOrder() {
    let headers = [("X-Session-Id", "generic"), ("x-claude-code-session-id", "claude-1"), ("User-Agent", "claude-cli/2.0")]
    let agent = AgentIdentity(headers: headers, sessionHeaders: LoggerOptions.defaultSessionHeaders, fingerprint: fingerprint)
    #expect(agent.session == "claude-1")
    #expect(agent.userAgent == "claude-cli/2.0")
    #expect(agent.name == nil, "names come with agent keys")
    let custom = AgentIdentity(headers: headers, sessionHeaders: ["x-mine", "x-session-id"], fingerprint: fingerprint)
    #expect(custom.session == "generic")
    let none = AgentIdentity(headers: [("x-session-id", "")], sessionHeaders: ["x-session-id"], fingerprint: fingerprint)
    #expect(none.session == nil, "an empty header names no session")
}
