// Head rewriting as an intermediary must do it (RFC 9110 §7.6.1), checked on parsed heads.
import HTTP1
import Testing

@Test func upstreamRequestDropsHopByHopAndSetsForwarding() throws {
    let recorder = Recorder()
    recorder.pauseAtEnd = true
    let parser = HTTPParser(kind: .request, delegate: recorder)
    let input = "POST /v1/messages HTTP/1.1\r\nHost: gateway:8080\r\nConnection: keep-alive, X-Secret-Hop\r\n" +
        "Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eA==\r\n" +
        "X-Secret-Hop: 1\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nExpect: 100-continue\r\n" +
        "Content-Length: 2\r\nAccept: text/event-stream\r\n\r\nhi"
    #expect(feed(parser, Array(input.utf8), cuts: []) == nil)
    var options = ConnectionOptions()
    options.collect(from: parser.head)
    var out: [UInt8] = []
    HeadWriter.upstreamRequest(parser.head, target: parser.head.target, connectionOptions: options,
                               targetPrefix: Array("/base".utf8), host: Array("api.example".utf8),
                               clientIP: Array("127.0.0.1".utf8), forwardedProto: "http",
                               framing: .contentLength(2), into: &out)
    let text = String(decoding: out, as: UTF8.self)
    #expect(text == "POST /base/v1/messages HTTP/1.1\r\nHost: api.example\r\nAccept: text/event-stream\r\n" +
        "X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\nX-Forwarded-Proto: http\r\nContent-Length: 2\r\n\r\n")
    withExtendedLifetime(recorder) {}
}

@Test func clientResponseKeepsEndToEndFieldsAndSetsFraming() throws {
    let recorder = Recorder()
    recorder.pauseAtEnd = true
    let parser = HTTPParser(kind: .response, delegate: recorder)
    let input = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n" +
        "Connection: X-Internal\r\nX-Internal: 1\r\nContent-Encoding: gzip\r\n\r\n0\r\n\r\n"
    #expect(feed(parser, Array(input.utf8), cuts: []) == nil)
    var options = ConnectionOptions()
    options.collect(from: parser.head)
    var out: [UInt8] = []
    HeadWriter.clientResponse(parser.head, connectionOptions: options, framing: .chunked, close: true,
                              clientIsHTTP10: false, into: &out)
    #expect(String(decoding: out, as: UTF8.self) == "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" +
        "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    withExtendedLifetime(recorder) {}
}

@Test(arguments: [
    ("connection", FieldRole.hopByHop), ("Keep-Alive", .hopByHop), ("TE", .hopByHop), ("Trailer", .hopByHop),
    ("Transfer-Encoding", .hopByHop), ("UPGRADE", .hopByHop), ("Proxy-Connection", .hopByHop),
    ("Proxy-Authorization", .hopByHop), ("host", .host), ("Content-Length", .contentLength),
    ("x-forwarded-for", .forwardedFor), ("X-Forwarded-Proto", .forwardedProto), ("Expect", .expect),
    ("Content-Type", .other), ("x-api-key", .other), ("Proxy", .other), ("Tea", .other),
])
func fieldRoles(_ name: String, _ role: FieldRole) {
    let bytes = Array(name.utf8)
    #expect(bytes.withUnsafeBytes { FieldRole.of($0) } == role)
}

@Test(arguments: [(UInt64(0), "0"), (1, "1"), (15, "f"), (16, "10"), (4096, "1000"), (UInt64.max, "ffffffffffffffff")])
func chunkSizeLines(_ size: UInt64, _ hex: String) {
    var buffer = [UInt8](repeating: 0, count: 20)
    let count = buffer.withUnsafeMutableBytes { ChunkFraming.sizeLine(size, into: $0) }
    #expect(String(decoding: buffer[0..<count], as: UTF8.self) == hex + "\r\n")
}

@Test func listElementsAreTrimmed() {
    var elements: [String] = []
    Array(" close ,, X-A,\tx-b ".utf8).withUnsafeBytes { value in
        ASCII.forEachListElement(value) { elements.append(String(decoding: $0, as: UTF8.self)) }
    }
    #expect(elements == ["close", "X-A", "x-b"])
}
