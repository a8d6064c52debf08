// The admin listener (--admin HOST:PORT, never the proxy port): /healthz, /readyz and /metrics, served on
// worker 0's loop. One request per connection; nothing here is on the proxy's path.
import HTTP1
import UV

final class AdminServer {
    struct Answer {
        let status: Int
        let contentType: StaticString
        let body: [UInt8]
    }

    private var listener: TCPListener?
    private let respond: (_ path: String) -> Answer

    init(loop: EventLoop, address: SocketAddress, respond: @escaping (_ path: String) -> Answer) throws(UVError) {
        self.respond = respond
        listener = try TCPListener(loop: loop, address: address) { [unowned self] stream in
            AdminConnection(stream: stream, server: self).start()
        }
    }

    var boundAddress: SocketAddress? { listener?.localAddress }

    func answer(method: HTTPMethod, target: String) -> Answer {
        guard method == .get || method == .head else {
            return Answer(status: 405, contentType: "text/plain", body: Array("only GET is served here\n".utf8))
        }
        let path = String(target.prefix { $0 != "?" })
        return respond(path)
    }

    func close() {
        listener?.close()
        listener = nil
    }
}

/// Reads one request head, answers it, closes. Kept alive by its stream (the stream's delegate).
private final class AdminConnection: TCPStreamDelegate, HTTPParserDelegate {
    let stream: TCPStream
    unowned let server: AdminServer
    private var parser: HTTPParser!
    private var answered = false

    init(stream: TCPStream, server: AdminServer) {
        self.stream = stream
        self.server = server
        parser = HTTPParser(kind: .request, delegate: self, maxHeadBytes: 16 * 1024)
    }

    func start() {
        stream.delegate = self
        stream.startReading()
    }

    func streamRead(_ stream: TCPStream, _ bytes: UnsafeRawBufferPointer) {
        guard !answered else { return }
        if case .failed = parser.execute(bytes) {
            send(AdminServer.Answer(status: 400, contentType: "text/plain", body: Array("bad request\n".utf8)), head: false)
        }
    }

    func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict {
        let target = String(decoding: head.bytes[head.target], as: UTF8.self)
        send(server.answer(method: head.method, target: target), head: head.method == .head)
        return .skipBody
    }

    private func send(_ answer: AdminServer.Answer, head: Bool) {
        answered = true
        var out: [UInt8] = []
        HeadWriter.localResponse(status: answer.status, contentType: answer.contentType, body: head ? [] : answer.body,
                                 close: true, into: &out)
        stream.write(copying: out)
        stream.closeWhenWritten()
    }

    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) {}
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) {}
    func parserChunkComplete(_ parser: HTTPParser) {}
    func parserMessageComplete(_ parser: HTTPParser) -> Bool { true }
    func streamEnded(_ stream: TCPStream, _ error: UVError?) { stream.close() }
    func streamWriteFailed(_ stream: TCPStream, _ error: UVError) { stream.close() }
    func streamDrained(_ stream: TCPStream) {}
}
