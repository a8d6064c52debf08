// What a gateway checks and reads in a request head before acting on it: the protocol rules a server must
// enforce (RFC 9112 §3.2, §2.5) and the path it routes on.
import HTTP1

enum RequestRules {
    /// The interim answer to `Expect: 100-continue`.
    static let continueLine: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"

    /// The first rule the head breaks, or nil.
    static func violation(_ head: HTTPHead) -> GatewayFailure? {
        if head.versionMajor != 1 {
            return GatewayFailure(.versionNotSupported, "HTTP/\(head.versionMajor).\(head.versionMinor) is not supported")
        }
        let hosts = head.count(of: "host")
        if head.isHTTP11OrLater && hosts == 0 { return GatewayFailure(.badRequest, "HTTP/1.1 request without a Host header") }
        if hosts > 1 { return GatewayFailure(.badRequest, "more than one Host header") }
        if head.method == .connect { return GatewayFailure(.methodNotAllowed, "CONNECT is not supported by this gateway") }
        if head.isChunked && !head.isHTTP11OrLater {
            return GatewayFailure(.badRequest, "Transfer-Encoding in an HTTP/1.0 request")
        }
        return nil
    }

    /// The path and query to route and forward: origin-form as sent, or the path of an absolute-form target.
    static func originFormTarget(_ head: HTTPHead) -> Range<Int> {
        let target = head.target
        return head.withBytes(target) { bytes -> Range<Int> in
            guard bytes.count > 0, bytes[0] != UInt8(ascii: "/"), bytes[0] != UInt8(ascii: "*") else { return target }
            // scheme://authority/path → /path
            var slashes = 0
            for index in 0..<bytes.count where bytes[index] == UInt8(ascii: "/") {
                slashes += 1
                if slashes == 3 { return target.lowerBound + index..<target.upperBound }
            }
            return target.upperBound..<target.upperBound
        }
    }

    /// The framing of the request body as it arrives (and so as it is forwarded).
    static func bodyFraming(_ head: HTTPHead) -> BodyFraming {
        if head.isChunked { return .chunked }
        if let length = head.contentLength, length > 0 { return .contentLength(length) }
        return .none
    }

    /// Whether the client waits for a 100 before sending its body (answered by kgb, which streams the body anyway).
    static func expectsContinue(_ head: HTTPHead) -> Bool {
        head.isHTTP11OrLater && bodyFraming(head) != .none && head.value(of: "expect")?.lowercased() == "100-continue"
    }
}
