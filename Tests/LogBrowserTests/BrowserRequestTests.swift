// What the server reads from a request before any query: the target, times, who may look.
@testable import LogBrowser
import Testing

@Test func targetsArePercentDecodedAndEmptyValuesAreNoFilter() {
    let target = RequestTarget("/api/exchanges?agent=build%20bot&q=a+b%2Bc&model=&status=5xx&bad=%zz")
    #expect(target.path == "/api/exchanges")
    #expect(target["agent"] == "build bot" && target["q"] == "a b+c" && target["status"] == "5xx")
    #expect(target["model"] == nil && target["missing"] == nil)
    #expect(target["bad"] == "%zz", "a broken escape is kept as it was, not guessed at")
    #expect(RequestTarget("/api/session/s%2F1").path == "/api/session/s/1")
}

@Test func timesAreReadStrictlyAndWrittenAsRecordsSpellThem() {
    #expect(ISOTime.seconds("2026-11-30") == 1_795_996_800)
    #expect(ISOTime.seconds("2026-11-30T01:02:03.5Z") == 1_795_996_800 + 3723.5)
    #expect(ISOTime.seconds("2026-11-30T01:02") == 1_795_996_800.0 + 3720)
    for bad in ["yesterday", "2026-13-01", "2026-11-30T25:00", "2026-11-30 01:02", "2026-11-30T01:02:03+02:00", ""] {
        #expect(ISOTime.seconds(bad) == nil, "\(bad)")
    }
    #expect(ISOTime.text(1_795_996_800 + 3723.25) == "2026-11-30T01:02:03.250000Z")
}

@Test func onlyValidJSONNumbersPassAsNumbers() {
    for good in ["0", "-1", "12.5", "1e-05", "4.2E+10", "0.000342"] { #expect(JSONText.isNumber(good), "\(good)") }
    for bad in ["", "01", "1.", ".5", "NaN", "inf", "1e", "--1", "0x10"] { #expect(!JSONText.isNumber(bad), "\(bad)") }
}

@Test func withoutATokenOnlyThisMachinesHostNamesAreServed() {
    let access = BrowserAccess(token: nil, allowedHosts: ["127.0.0.1", "localhost", "[::1]"])
    func verdict(host: String) -> Bool {
        if case .allowed = access.check(request(host: host)) { return true }
        return false
    }
    #expect(verdict(host: "127.0.0.1:8090") && verdict(host: "LOCALHOST:8090") && verdict(host: "[::1]:8090"))
    #expect(!verdict(host: "evil.example:8090") && !verdict(host: "127.0.0.1.evil.example"))
}

@Test func aTokenIsAcceptedAsBearerOrCookieAndTradedFromTheAddressOnce() {
    let access = BrowserAccess(token: "0123456789abcdef", allowedHosts: [])
    func status(_ request: BrowserRequest) -> String {
        switch access.check(request) {
        case .allowed: "allowed"
        case .redirect(let response): "redirect \(response.extraHeaders.joined(separator: "; "))"
        case .refused(let response): "refused \(response.status)"
        }
    }
    #expect(status(request(host: "x")) == "refused 401")
    #expect(status(request(host: "x", bearer: "0123456789abcdef")) == "allowed")
    #expect(status(request(host: "x", bearer: "0123456789abcdeX")) == "refused 401")
    #expect(status(request(host: "x", cookie: "a=b; kgb_ui_token=0123456789abcdef")) == "allowed")
    let traded = status(request(host: "x", target: "/?token=0123456789abcdef"))
    #expect(traded.hasPrefix("redirect Location: /;") && traded.contains("HttpOnly") && traded.contains("SameSite=Strict"))
}

private func request(host: String, target: String = "/", bearer: String? = nil, cookie: String? = nil) -> BrowserRequest {
    BrowserRequest(method: .get, target: RequestTarget(target), host: host, bearerToken: bearer, cookies: cookie)
}
