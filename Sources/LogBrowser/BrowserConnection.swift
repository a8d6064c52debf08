// One connection to `kgb ui`: reads a request head, hands it to the server, writes the answer and closes (the
// live stream stays open until the page goes). Kept alive by its stream, whose delegate it is.
import HTTP1
import UV

struct BrowserRequest {
    let method: HTTPMethod
    let target: RequestTarget
    let host: String?
    let bearerToken: String?
    private let cookies: String?

    init(method: HTTPMethod, target: RequestTarget, host: String?, bearerToken: String?, cookies: String?) {
        self.method = method
        self.target = target
        self.host = host
        self.bearerToken = bearerToken
        self.cookies = cookies
    }

    init(_ head: HTTPHead) {
        let authorization = head.value(of: "authorization")
        self.init(method: head.method, target: RequestTarget(head.targetString), host: head.value(of: "host"),
                  bearerToken: authorization.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil },
                  cookies: head.value(of: "cookie"))
    }

    func cookie(_ name: String) -> String? {
        guard let cookies else { return nil }
        for pair in cookies.split(separator: ";") {
            let trimmed = pair.drop { $0 == " " }
            if trimmed.hasPrefix(name + "=") { return String(trimmed.dropFirst(name.count + 1)) }
        }
        return nil
    }
}

final class BrowserConnection: TCPStreamDelegate, HTTPParserDelegate {
    private let stream: TCPStream
    private unowned let server: BrowserServer
    private var parser: HTTPParser!
    private enum State { case reading, answering, live }
    private var state = State.reading

    init(stream: TCPStream, server: BrowserServer) {
        self.stream = stream
        self.server = server
        parser = HTTPParser(kind: .request, delegate: self, maxHeadBytes: 32 * 1024)
    }

    func start() {
        stream.delegate = self
        stream.startReading()
    }

    func streamRead(_ stream: TCPStream, _ bytes: UnsafeRawBufferPointer) {
        guard state == .reading else { return }
        if case .failed = parser.execute(bytes) {
            send(.text(400, "bad request\n"), headOnly: false)
        }
    }

    func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict {
        let request = BrowserRequest(head)
        state = .answering
        if request.target.path == "/api/live" && request.method == .get {
            state = .live
        }
        server.handle(request, stream: stream) { [weak self] response in
            self?.send(response, headOnly: request.method == .head)
        }
        return .skipBody
    }

    private func send(_ response: BrowserResponse, headOnly: Bool) {
        guard stream.state == .open else { return }
        state = .answering
        stream.write(copying: response.bytes(headOnly: headOnly))
        stream.closeWhenWritten()
    }

    func streamEnded(_ stream: TCPStream, _ error: UVError?) {
        server.streamEnded(stream)
        stream.close()
    }

    func streamWriteFailed(_ stream: TCPStream, _ error: UVError) {
        server.streamEnded(stream)
        stream.close()
    }

    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) {}
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) {}
    func parserChunkComplete(_ parser: HTTPParser) {}
    func parserMessageComplete(_ parser: HTTPParser) -> Bool { true }
    func streamDrained(_ stream: TCPStream) {}
}
