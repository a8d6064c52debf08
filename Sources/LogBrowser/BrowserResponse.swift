// An answer of `kgb ui`'s server, and the head every answer carries: records hold prompts and answers, so nothing
// is cached, content types are not sniffed, and the page may run only its own script (a prompt that holds
// `<script>` stays text even if a bug let it into the page as markup).
import HTTP1

struct BrowserResponse {
    var status: Int
    var contentType: StaticString
    var body: [UInt8]
    var extraHeaders: [String] = []

    static func json(_ body: [UInt8]) -> BrowserResponse {
        BrowserResponse(status: 200, contentType: "application/json", body: body)
    }

    static func text(_ status: Int, _ text: String) -> BrowserResponse {
        BrowserResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }

    static func asset(_ text: StaticString, type: StaticString) -> BrowserResponse {
        BrowserResponse(status: 200, contentType: type, body: text.withUTF8Buffer { Array($0) })
    }

    static let securityHeaders = [
        "Cache-Control: no-store",
        "X-Content-Type-Options: nosniff",
        "Referrer-Policy: no-referrer",
        "X-Frame-Options: DENY",
        "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ]

    /// The status line and headers; `contentLength` nil: the body runs until the connection closes (the live stream).
    static func writeHead(status: Int, contentType: StaticString, contentLength: Int?, extra: [String],
                          into out: inout [UInt8]) {
        HeadWriter.statusLine(status, reason: HeadWriter.reasonPhrase(status).bytes, into: &out)
        var lines = ["Content-Type: \(contentType)"]
        if let contentLength { lines.append("Content-Length: \(contentLength)") }
        lines += securityHeaders + extra + ["Connection: close"]
        for line in lines {
            out.append(contentsOf: line.utf8)
            out.append(contentsOf: [13, 10])
        }
        out.append(contentsOf: [13, 10])
    }

    func bytes(headOnly: Bool) -> [UInt8] {
        var out: [UInt8] = []
        Self.writeHead(status: status, contentType: contentType, contentLength: body.count, extra: extraHeaders, into: &out)
        if !headOnly { out.append(contentsOf: body) }
        return out
    }
}
