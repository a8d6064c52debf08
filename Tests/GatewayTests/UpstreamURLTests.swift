// Upstream URLs as users write them on the command line.
import Gateway
import Testing

@Test func parsesOrigins() throws {
    let plain = try UpstreamURL("http://127.0.0.1:9000")
    #expect(plain.host == "127.0.0.1" && plain.port == 9000 && plain.basePath == "" && plain.authority == "127.0.0.1:9000")
    let named = try UpstreamURL("HTTP://api.example/")
    #expect(named.port == 80 && named.authority == "api.example" && named.basePath == "")
    let v6 = try UpstreamURL("http://[::1]:8081/base/")
    #expect(v6.host == "::1" && v6.authority == "[::1]:8081" && v6.basePath == "/base")
    let tls = try UpstreamURL("https://api.anthropic.com")
    #expect(tls.scheme == .https && tls.port == 443 && tls.authority == "api.anthropic.com")
}

@Test(arguments: ["127.0.0.1:9000", "ftp://x", "http://", "http://x:0", "http://x:99999", "http://x:abc",
                  "http://user:pw@x", "http://[::1", "http://x/?q=1"])
func rejectsBadURLs(_ text: String) {
    #expect(throws: UpstreamURL.ParseError.self) { try UpstreamURL(text) }
}

@Test func failureBodiesUseTheAPIErrorShape() {
    let failure = GatewayFailure(.upstreamUnreachable, "cannot connect to \"x\"")
    #expect(failure.status == 502)
    #expect(failure.outcome == .upstreamError)
    #expect(String(decoding: failure.jsonBody, as: UTF8.self) ==
        #"{"type":"error","error":{"type":"api_error","message":"cannot connect to \"x\""}}"#)
    #expect(GatewayFailure(.upstreamTimeout, "t").status == 504)
    #expect(GatewayFailure(.headTooLarge, "t").status == 431)
    #expect(GatewayFailure(.badRequest, "t").outcome == .rejected)
}
