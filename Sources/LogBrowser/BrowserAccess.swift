// Who may read the records through `kgb ui`. On loopback without a token: pages whose Host is this machine's
// (a web site that rebinds its own name to 127.0.0.1 is refused, so it cannot read the records from a visitor's
// browser). With `--ui-token`: whoever presents the token, as `Authorization: Bearer`, or once as `?token=` in
// the address, which trades it for an HttpOnly, SameSite=Strict cookie and redirects to the address without it.

struct BrowserAccess {
    let token: String?
    let allowedHosts: Set<String>
    static let cookieName = "kgb_ui_token"

    enum Verdict {
        case allowed
        case redirect(BrowserResponse)
        case refused(BrowserResponse)
    }

    func check(_ request: BrowserRequest) -> Verdict {
        guard let token else {
            let host = request.host.map(Self.hostWithoutPort) ?? ""
            return allowedHosts.contains(host) ? .allowed
                : .refused(.text(403, "kgb ui answers requests for \(allowedHosts.sorted().joined(separator: ", ")) only\n"))
        }
        if let presented = request.bearerToken ?? request.cookie(Self.cookieName), Self.same(presented, token) {
            return .allowed
        }
        if let presented = request.target["token"], Self.same(presented, token) {
            var response = BrowserResponse.text(303, "signed in\n")
            response.extraHeaders = [
                "Location: \(request.target.path)",
                "Set-Cookie: \(Self.cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict",
            ]
            return .redirect(response)
        }
        return .refused(.text(401, "kgb ui needs its token: open this address with ?token=... (the token in the file given to --ui-token), or send Authorization: Bearer\n"))
    }

    /// example.com:8090 → example.com; [::1]:8090 → [::1].
    static func hostWithoutPort(_ host: String) -> String {
        if host.hasPrefix("[") { return String(host.prefix { $0 != "]" }) + "]" }
        return String(host.prefix { $0 != ":" }).lowercased()
    }

    /// Compares without stopping at the first difference, so the time taken says nothing about the token.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
