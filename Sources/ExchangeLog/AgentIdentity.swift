// Who sent an exchange, as its record tells it: the credential the client presented (as a fingerprint, never the
// value), the session the agent named in a header, and its User-Agent. With agent keys configured (a later
// change), the agent's name too; until then `name` is null.

struct AgentIdentity: Equatable {
    var name: String?
    /// The fingerprint of the client's credential: `x-api-key`, else the token of `Authorization: Bearer ...` (the
    /// same key gives the same fingerprint whichever header the SDK put it in).
    var key: String?
    var session: String?
    var userAgent: String?

    init(headers: [(String, String)], sessionHeaders: [String], fingerprint: Fingerprint) {
        var apiKey: String?, bearer: String?
        var sessions: [String: String] = [:]
        for (name, value) in headers {
            switch name.lowercased() {
            case "x-api-key": if apiKey == nil { apiKey = value }
            case "authorization":
                if bearer == nil, value.count > 7, value.prefix(7).lowercased() == "bearer " {
                    bearer = String(value.dropFirst(7)).trimmingLeadingSpaces()
                }
            case "user-agent": if userAgent == nil { userAgent = value }
            case let lower where sessionHeaders.contains(lower): if sessions[lower] == nil { sessions[lower] = value }
            default: break
            }
        }
        key = (apiKey ?? bearer).map { fingerprint.of(Array($0.utf8)) }
        session = sessionHeaders.lazy.compactMap { sessions[$0] }.first { !$0.isEmpty }
    }
}

private extension String {
    func trimmingLeadingSpaces() -> String { String(drop { $0 == " " }) }
}
