// One client connection: parses requests as they arrive, answers them one at a time and in order (a
// pipelined request waits, unparsed, until the response before it is queued), and keeps the connection
// for the next request unless either side asked to close.
import CZlib
import HTTP1
import UV

/// Lives on the loop thread. Kept alive by its stream (the stream's delegate) until the stream closes; the
/// parser, writer and pacing timer refer back to it without owning it.
final class Connection: TCPStreamDelegate, HTTPParserDelegate {
    /// Bytes read past the request being answered are kept unparsed; past this much, stop reading the socket.
    static let maxUnparsed = 1 << 20
    /// /v1/* bodies are kept, up to this, to read `stream`, `model` and `include_usage` from them.
    static let maxKeptBody = 16 << 20

    let server: MockServer
    let stream: any MockTransport
    private var parser: HTTPParser!
    private var unparsed: [UInt8] = []

    private enum BodyUse { case count, checksum, keep }
    private var bodyUse = BodyUse.count
    /// The request whose head was parsed and whose body is arriving.
    private var incoming: MockRequest?
    /// The request the parser just finished (it paused right after it).
    private var completed: MockRequest?

    private var writer: ResponseWriter?
    private var pacer: Timer?
    private var isProcessing = false
    private var peerEnded = false
    /// Set once we decided to close: nothing more is parsed or answered.
    private(set) var isClosing = false

    init(server: MockServer, stream: any MockTransport) {
        self.server = server
        self.stream = stream
        parser = HTTPParser(kind: .request, delegate: self)
    }

    deinit {
        pacer?.close()
    }

    func start() {
        stream.delegate = self
        stream.setNoDelay()
        // Stop producing a body at ~1 MiB queued (a piece is at most 64 KiB past the mark); resume well below.
        stream.setWatermarks(high: 960 * 1024, low: 256 * 1024)
        stream.startReading()
    }

    // MARK: Reading and parsing

    func streamRead(_ stream: TCPStream, _ bytes: UnsafeRawBufferPointer) {
        guard !isClosing else { return }
        unparsed.append(contentsOf: bytes)
        processInput()
        if unparsed.count > Connection.maxUnparsed { stream.stopReading() }
    }

    /// Parses what is buffered as long as no response is in progress. Each finished request pauses the parser,
    /// is answered, and parsing resumes with the bytes after it.
    private func processInput() {
        guard !isProcessing else { return }
        isProcessing = true
        defer { isProcessing = false }
        while writer == nil && !isClosing && stream.state == .open && !unparsed.isEmpty {
            let outcome = unparsed.withUnsafeBytes { parser.execute($0) }
            switch outcome {
            case .consumed:
                unparsed.removeAll(keepingCapacity: true)
            case .paused(let consumed):
                unparsed.removeFirst(consumed)
                parser.resume()
                if let request = completed {
                    completed = nil
                    respond(to: request)
                }
            case .failed(let error):
                respondToParseError(error)
                return
            }
        }
        guard !isClosing && stream.state == .open else { return }
        if peerEnded {
            // The client sent all it will; what it asked for has been answered.
            if writer == nil { close(afterWriting: true) }
        } else if !stream.isReading && unparsed.count <= Connection.maxUnparsed {
            stream.startReading()
        }
    }

    func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict {
        var request = MockRequest(head: head)
        request.tls = stream.tlsDetails
        // Any path ending in /echo answers with the checksum (the echo route takes those paths too).
        bodyUse = request.path.hasSuffix("/echo") ? .checksum : request.path.hasPrefix("/v1/") ? .keep : .count
        // Clients that wait for it (curl above 1 MiB) would otherwise pause a second before sending the body.
        let hasBody = head.isChunked || (head.contentLength ?? 0) > 0
        if hasBody, request.isHTTP11, let expect = request.header("expect"), expect.lowercased() == "100-continue" {
            let interim: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"
            stream.write(copying: UnsafeRawBufferPointer(start: interim.utf8Start, count: interim.utf8CodeUnitCount))
            stream.flush()
        }
        incoming = request
        return .proceed
    }

    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) {
        guard incoming != nil, bytes.count > 0 else { return }
        incoming!.bodyBytes += UInt64(bytes.count)
        switch bodyUse {
        case .count:
            break
        case .checksum:
            incoming!.bodyCRC = crc32(incoming!.bodyCRC, bytes.baseAddress!.assumingMemoryBound(to: Bytef.self), UInt32(bytes.count))
        case .keep:
            let room = Connection.maxKeptBody - incoming!.body.count
            if room > 0 { incoming!.body.append(contentsOf: bytes.prefix(room)) }
        }
    }

    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) {}
    func parserChunkComplete(_ parser: HTTPParser) {}

    func parserMessageComplete(_ parser: HTTPParser) -> Bool {
        completed = incoming
        incoming = nil
        // Pause: the next pipelined request is parsed only once this one is answered.
        return true
    }

    // MARK: Answering

    private func respond(to request: MockRequest) {
        var knobs = Knobs(server.defaults)
        let plan: ResponsePlan
        do {
            knobs = try Knobs(request, defaults: server.defaults)
            plan = try Routes.plan(for: request, knobs: knobs, server: server)
        } catch {
            // A knob or parameter the mock cannot read: say so rather than guess (and apply no fault).
            knobs = Knobs(server.defaults)
            plan = .error(400, type: "invalid_request_error", error.message)
        }
        let writer = ResponseWriter(connection: self, request: request, knobs: knobs, plan: plan)
        self.writer = writer
        writer.start()
    }

    private func respondToParseError(_ error: ParseError) {
        let plan: ResponsePlan = error.kind == .headTooLarge
            ? .error(431, type: "request_too_large", error.reason)
            : .error(400, type: "invalid_request_error", "malformed request: \(error.reason)")
        var text = "HTTP/1.1 \(plan.status) \(ResponseWriter.reason(plan.status))\r\n"
        for (name, value) in plan.headers { text += "\(name): \(value)\r\n" }
        if case .fixed(let body) = plan.body {
            text += "content-length: \(body.count)\r\nconnection: close\r\n\r\n" + String(decoding: body, as: UTF8.self)
        }
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { stream.write(copying: UnsafeRawBufferPointer($0)) }
        close(afterWriting: true)
    }

    /// The writer has queued the whole response.
    func responseFinished(close shouldClose: Bool) {
        writer = nil
        if shouldClose {
            close(afterWriting: true)
        } else {
            processInput()
        }
    }

    func pace(milliseconds: UInt64) {
        if pacer == nil {
            pacer = Timer(loop: stream.loop) { [unowned self] in
                // Held for the whole call: the writer may close the stream, which drops the stream's reference.
                withExtendedLifetime(self) {
                    if let writer = self.writer { writer.paceElapsed() }
                }
            }
        }
        pacer!.start(milliseconds: milliseconds)
    }

    // MARK: Stream events

    func streamEnded(_ stream: TCPStream, _ error: UVError?) {
        peerEnded = true
        guard error == nil else {
            close()
            return
        }
        if let writer {
            // A silent response will never end by itself; anything else finishes, then processInput closes.
            if writer.isSilent { close() }
        } else if parser.isInMessage {
            close()
        } else {
            processInput()
        }
    }

    func streamDrained(_ stream: TCPStream) {
        if let writer { writer.pump() }
    }

    func streamWriteFailed(_ stream: TCPStream, _ error: UVError) {
        close()
    }


    // MARK: Closing

    func close(afterWriting: Bool = false) {
        isClosing = true
        pacer?.stop()
        if afterWriting { stream.closeWhenWritten() } else { stream.close() }
    }

    /// Closes with a TCP RST.
    func reset() {
        isClosing = true
        pacer?.stop()
        stream.reset()
    }
}
