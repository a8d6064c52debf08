// One client connection and the exchanges it carries, one at a time, in request order. Read top to bottom,
// the phases follow an exchange: request head → connect upstream → request body → response head →
// response body → finish. Failures before the response head become an HTTP error; after it, a cut stream.
import HTTP1
import UV

/// Loop-owned (the gateway's loop thread). Kept alive by the gateway's connection list until closed.
final class ClientConnection: TCPStreamDelegate, HTTPParserDelegate, LogRoomWaiter {
    enum TimerPhase { case none, header, idle, linger }

    /// The gateway outlives every connection it accepted (unsafe-unowned: no reference counting per access).
    unowned(unsafe) let gateway: Gateway
    let stream: TCPStream
    private var parser: HTTPParser!
    let clientAddress: String
    private let clientIP: [UInt8]
    /// Index in the gateway's connection list.
    var slot = -1

    private var exchange: Exchange?
    private var requestOptions = ConnectionOptions()
    private var responseOptions = ConnectionOptions()
    /// A failure found while validating the request head (reported after the parser returns).
    private var rejection: GatewayFailure?
    private var requestHeadOut: [UInt8] = []
    /// Bytes read after the current request's end (pipelined requests), parsed once the exchange finishes.
    private var pendingInput: [UInt8] = []
    private var replayInput: [UInt8] = []
    static let pendingInputLimit = 64 * 1024
    private var readsPausedByUpstream = false
    /// The log could not take a body fragment (pause policy): this side waits for `logHasRoom`.
    private var requestPausedByLog = false
    private var responsePausedByLog = false

    private var timer: DeadlineTimer!
    private var timerPhase = TimerPhase.none
    /// The client vanished mid-exchange: nothing more is written to it.
    private var clientIsGone = false

    init(gateway: Gateway, stream: TCPStream) {
        self.gateway = gateway
        self.stream = stream
        let peer = stream.peerAddress
        clientAddress = peer?.description ?? "unknown"
        clientIP = Array((peer?.ip ?? "unknown").utf8)
        parser = HTTPParser(kind: .request, delegate: self, maxHeadBytes: gateway.config.maxHeadBytes)
        timer = DeadlineTimer(loop: gateway.loop) { [unowned self] in self.timerFired() }
        stream.delegate = self
        stream.setNoDelay()
        stream.startReading()
        arm(.header)
    }

    var isIdle: Bool { exchange == nil && !parser.isInMessage && pendingInput.isEmpty }

    // MARK: Reading requests

    func streamRead(_ stream: TCPStream, _ bytes: UnsafeRawBufferPointer) {
        if parser.isPaused {
            // The current exchange is still running; keep what follows for later, within a bound.
            pendingInput.append(contentsOf: bytes)
            if pendingInput.count > ClientConnection.pendingInputLimit { stream.stopReading() }
            return
        }
        if timerPhase == .idle { arm(.header) }
        feed(bytes)
    }

    /// Parses request bytes and acts on what they complete, then sends what was written on both sides.
    private func feed(_ bytes: UnsafeRawBufferPointer) {
        switch parser.execute(bytes) {
        case .consumed:
            break
        case .paused(let consumed):
            if consumed < bytes.count { pendingInput.append(contentsOf: bytes[consumed...]) }
            requestComplete()
        case .failed(let error):
            requestFailed(rejection ?? GatewayFailure(error.kind == .headTooLarge ? .headTooLarge : .badRequest,
                                                     "invalid request: \(error.reason)"))
        }
        exchange?.upstream?.flush()
        flushToClient()
        if let upstream = exchange?.upstream, upstream.isCongested, !readsPausedByUpstream {
            readsPausedByUpstream = true
            stream.stopReading()
        }
    }

    // MARK: Phase 1: request head

    func parserHeadComplete(_ parser: HTTPParser) -> HeadVerdict {
        let head = parser.head
        if let failure = validate(head) {
            rejection = failure
            return .reject
        }
        disarm()
        let framing: BodyFraming = head.isChunked ? .chunked : .contentLength(head.contentLength ?? 0)
        let hasBody = head.isChunked || (head.contentLength ?? 0) > 0
        let target = originFormTarget(head)
        let route = head.withBytes(target) { gateway.routes.match($0) }
        var exchange = Exchange(id: gateway.nextExchangeID(),
                                requestFraming: hasBody ? framing : .none,
                                isHeadRequest: head.method == .head,
                                clientIsHTTP10: !head.isHTTP11OrLater,
                                closeAfter: !head.keepAlive || gateway.isDraining)
        exchange.timing.started = EventLoop.hrtime()
        exchange.routeIndex = route?.index ?? gateway.routes.noneIndex
        gateway.observer.exchangeStarted(exchange.id, client: clientAddress, upstream: route?.upstreamLabel ?? [], request: head)
        self.exchange = exchange
        guard let route else {
            fail(GatewayFailure(.noRoute, "no route for path \(String(decoding: head.bytes[target], as: UTF8.self))"), outcome: .rejected)
            return .proceed
        }

        // Phase 2: an upstream connection (pooled or new), and the rewritten head towards it.
        let upstream = route.pool.acquire(for: self)
        // A connect that fails at once has already answered the client and finished the exchange.
        guard self.exchange != nil, upstream.owner === self else { return .proceed }
        self.exchange!.upstream = upstream
        requestOptions.collect(from: head)
        requestHeadOut.removeAll(keepingCapacity: true)
        let forwarded = head.bytes.withUnsafeBytes { route.forwardedTarget(target, in: $0) }
        HeadWriter.upstreamRequest(head, target: forwarded, connectionOptions: requestOptions,
                                   targetPrefix: route.targetPrefix, slashWhenEmpty: route.config.upstream.path.isEmpty,
                                   host: route.host, extraFields: route.extraFields, replacedNames: route.replacedNames,
                                   clientIP: clientIP, forwardedProto: "http",
                                   framing: exchange.requestFraming, into: &requestHeadOut)
        requestHeadOut.withUnsafeBytes { upstream.send(borrowing: $0) }

        // We stream the body upstream as it comes, so we ask for it at once (RFC 9110 §10.1.1).
        if hasBody && head.isHTTP11OrLater, let expect = head.value(of: "expect"), expect.lowercased() == "100-continue" {
            stream.write(copying: ClientConnection.continueLine.bytes)
        }
        return .proceed
    }

    static let continueLine: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"

    /// The protocol rules a server must enforce before acting on a request (RFC 9112 §3.2, §2.5).
    private func validate(_ head: HTTPHead) -> GatewayFailure? {
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

    /// The path and query to forward: origin-form as sent, or the path of an absolute-form target.
    private func originFormTarget(_ head: HTTPHead) -> Range<Int> {
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

    // MARK: Phase 3: request body, streamed upstream as it arrives

    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) {
        guard let exchange, let upstream = exchange.upstream else { return }
        upstream.send(borrowing: bytes)
        self.exchange!.timing.requestBodyBytes &+= UInt64(bytes.count)
        if !gateway.observer.requestBody(exchange.id, bytes) && !requestPausedByLog {
            requestPausedByLog = true
            stream.stopReading()
            gateway.observer.notifyWhenRoom(self)
        }
    }

    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) {
        guard let upstream = exchange?.upstream else { return }
        guard size > 0 else { exchange!.requestInLastChunk = true; return }
        withUnsafeTemporaryAllocation(byteCount: 20, alignment: 1) { line in
            let count = ChunkFraming.sizeLine(size, into: line)
            upstream.send(copying: UnsafeRawBufferPointer(rebasing: line[0..<count]))
        }
    }

    func parserChunkComplete(_ parser: HTTPParser) {
        // The last chunk's end is written with the terminator in requestComplete.
        guard let exchange, let upstream = exchange.upstream, !exchange.requestInLastChunk else { return }
        upstream.send(copying: ChunkFraming.chunkEnd.bytes)
    }

    func parserMessageComplete(_ parser: HTTPParser) -> Bool {
        // Pause: the next pipelined request waits until this exchange has finished.
        true
    }

    private func requestComplete() {
        guard var exchange else { return }
        if exchange.requestFraming == .chunked { exchange.upstream?.send(copying: ChunkFraming.lastChunk.bytes) }
        exchange.requestDone = true
        self.exchange = exchange
    }

    /// The request broke the protocol. Before a response head it is answered with the error and the
    /// connection closed (its framing can no longer be trusted); after, the connection is cut.
    private func requestFailed(_ failure: GatewayFailure) {
        rejection = nil
        if exchange == nil {
            // Record the rejected request too: every exchange produces one record.
            var rejected = Exchange(id: gateway.nextExchangeID(), requestFraming: .none, isHeadRequest: false,
                                    clientIsHTTP10: false, closeAfter: true)
            rejected.timing.started = EventLoop.hrtime()
            rejected.routeIndex = gateway.routes.noneIndex
            gateway.observer.exchangeStarted(rejected.id, client: clientAddress, upstream: [], request: parser.head)
            exchange = rejected
        }
        exchange!.closeAfter = true
        exchange!.upstream?.abort()
        exchange!.upstream = nil
        fail(failure, outcome: .rejected)
    }

    // MARK: Phase 4: response head

    func upstreamConnected(_ upstream: UpstreamConnection) {
        exchange?.timing.upstreamConnected = EventLoop.hrtime()
        exchange?.timing.upstreamTLSHandshake = upstream.tlsHandshakeNanos
        exchange?.timing.upstreamTLSResumed = upstream.tlsResumed
    }

    func responseHead(_ head: HTTPHead, parser: HTTPParser) -> HeadVerdict {
        guard var exchange else { return .reject }
        let status = head.status
        if status == 101 {
            // We never forward Upgrade, so a switch of protocols is the upstream misbehaving.
            return .reject
        }
        responseOptions.collect(from: head)
        let out = exchange.upstream!
        out.responseHeadOut.removeAll(keepingCapacity: true)
        if status < 200 {
            // Interim responses reach HTTP/1.1 clients as they are (RFC 9110 §15.2); HTTP/1.0 ones cannot take them.
            if !exchange.clientIsHTTP10 {
                HeadWriter.clientResponse(head, connectionOptions: responseOptions, framing: .none, close: false,
                                          clientIsHTTP10: false, into: &out.responseHeadOut)
                // Copied: the final head reuses the same buffer, possibly before the next flush.
                out.responseHeadOut.withUnsafeBytes { stream.write(copying: $0) }
            }
            return .proceed
        }
        exchange.timing.responseHead = EventLoop.hrtime()
        exchange.status = status
        let bodiless = exchange.isHeadRequest || status == 204 || status == 304
        if bodiless {
            // No body follows; a HEAD or 304 response still states the length the body would have.
            exchange.responseFraming = status == 204 ? .none : head.contentLength.map { .contentLength($0) } ?? .none
        } else if let length = head.contentLength {
            exchange.responseFraming = .contentLength(length)
        } else if exchange.clientIsHTTP10 {
            exchange.responseFraming = .untilClose  // no chunked coding towards HTTP/1.0 (RFC 9112 §7.1)
        } else {
            exchange.responseFraming = .chunked
            exchange.relayChunks = head.isChunked
        }
        // A response that ends before the request has been read leaves the request's framing behind us.
        if !exchange.requestDone || exchange.responseFraming == .untilClose || gateway.isDraining {
            exchange.closeAfter = true
        }
        HeadWriter.clientResponse(head, connectionOptions: responseOptions,
                                  framing: exchange.responseFraming,
                                  close: exchange.closeAfter, clientIsHTTP10: exchange.clientIsHTTP10,
                                  into: &out.responseHeadOut)
        out.responseHeadOut.withUnsafeBytes { stream.write(borrowing: $0) }
        exchange.responseStarted = true
        self.exchange = exchange
        gateway.observer.responseHead(exchange.id, head)
        return exchange.isHeadRequest ? .skipBody : .proceed
    }

    // MARK: Phase 5: response body, written in the turn it was read

    func responseBody(_ bytes: UnsafeRawBufferPointer) {
        // Per-fragment path: fields are read in place (no copy of the exchange, no reference counting).
        guard exchange != nil else { return }
        if exchange!.timing.firstBodyByte == 0 { exchange!.timing.firstBodyByte = EventLoop.hrtime() }
        exchange!.timing.responseBodyBytes &+= UInt64(bytes.count)
        if exchange!.responseFraming == .chunked && !exchange!.relayChunks {
            // A close-delimited upstream body: each read becomes one chunk.
            writeChunkSizeLine(UInt64(bytes.count))
            stream.write(borrowing: bytes)
            stream.write(copying: ChunkFraming.chunkEnd.bytes)
        } else {
            stream.write(borrowing: bytes)
        }
        if !gateway.observer.responseBody(exchange!.id, bytes) && !responsePausedByLog {
            responsePausedByLog = true
            exchange!.upstream?.pauseReading()
            gateway.observer.notifyWhenRoom(self)
        }
    }

    func logHasRoom() {
        if requestPausedByLog {
            requestPausedByLog = false
            if !readsPausedByUpstream && slot >= 0 { stream.startReading() }
        }
        if responsePausedByLog {
            responsePausedByLog = false
            if !stream.isCongested { exchange?.upstream?.resumeReading() }
        }
    }

    func responseChunkHeader(size: UInt64) {
        guard exchange?.relayChunks == true else { return }
        guard size > 0 else { exchange!.responseInLastChunk = true; return }
        writeChunkSizeLine(size)
    }

    func responseChunkComplete() {
        // The last chunk's end is written with the terminator in responseComplete.
        guard exchange?.relayChunks == true, exchange?.responseInLastChunk == false else { return }
        stream.write(copying: ChunkFraming.chunkEnd.bytes)
    }

    private func writeChunkSizeLine(_ size: UInt64) {
        withUnsafeTemporaryAllocation(byteCount: 20, alignment: 1) { line in
            let count = ChunkFraming.sizeLine(size, into: line)
            stream.write(copying: UnsafeRawBufferPointer(rebasing: line[0..<count]))
        }
    }

    func flushToClient() {
        stream.flush()
        if let upstream = exchange?.upstream, stream.isCongested { upstream.pauseReading() }
    }

    // MARK: Phase 6: finish

    func responseComplete(reusable: Bool) {
        guard var exchange, exchange.responseStarted else {
            upstreamFailed(GatewayFailure(.upstreamBroken, "upstream response ended without a final status"))
            return
        }
        if exchange.responseFraming == .chunked { stream.write(copying: ChunkFraming.lastChunk.bytes) }
        exchange.responseDone = true
        if !exchange.requestDone { exchange.closeAfter = true }
        self.exchange = exchange
        finishExchange(.complete, error: nil, upstreamReusable: reusable && exchange.requestDone)
    }

    /// The single exit of every exchange: releases or closes the upstream, emits the end record, and either
    /// closes the client connection or moves on to the next pipelined request.
    private func finishExchange(_ outcome: Outcome, error: String?, upstreamReusable: Bool) {
        guard var exchange else { return }
        self.exchange = nil
        if let upstream = exchange.upstream {
            if upstreamReusable && outcome == .complete { upstream.pool.release(upstream) } else { upstream.close() }
        }
        exchange.timing.ended = EventLoop.hrtime()
        gateway.observer.exchangeEnded(exchange.id, outcome: outcome, error: error, timing: exchange.timing)
        gateway.metrics.exchangeEnded(route: exchange.routeIndex, status: exchange.status, outcome: outcome, timing: exchange.timing)
        if clientIsGone {
            close(flushingFirst: false)
            return
        }
        if exchange.closeAfter || gateway.isDraining {
            close(flushingFirst: true)
            return
        }
        readsPausedByUpstream = false
        requestPausedByLog = false
        responsePausedByLog = false
        arm(.idle)
        parser.resume()
        stream.startReading()
        replayPendingInput()
    }

    private func replayPendingInput() {
        guard !pendingInput.isEmpty else { return }
        arm(.header)
        swap(&pendingInput, &replayInput)
        replayInput.withUnsafeBytes { feed($0) }
        replayInput.removeAll(keepingCapacity: true)
    }

    // MARK: Failures

    /// The upstream failed (connect, DNS, timeout, broken or truncated response).
    func upstreamFailed(_ failure: GatewayFailure) {
        guard exchange != nil else { return }
        exchange!.upstream?.close()
        exchange!.upstream = nil
        fail(failure, outcome: failure.outcome)
    }

    private func fail(_ failure: GatewayFailure, outcome: Outcome) {
        guard let exchange else { return }
        if exchange.responseStarted {
            // Mid-response: cut the connection with no terminator, so the client sees a truncated stream.
            self.exchange!.closeAfter = true
            finishExchange(outcome, error: failure.message, upstreamReusable: false)
            return
        }
        // The request may not have been read to its end; only a fully read one leaves the connection usable.
        let close = exchange.closeAfter || !exchange.requestDone
        self.exchange!.closeAfter = close
        self.exchange!.status = failure.status
        stream.write(copying: failure.response(close: close))
        // Failures can come from a timer or a connect callback, outside any read: send the error now.
        stream.flush()
        finishExchange(outcome, error: failure.message, upstreamReusable: false)
    }

    func upstreamDrained() {
        guard readsPausedByUpstream else { return }
        readsPausedByUpstream = false
        if !requestPausedByLog { stream.startReading() }
    }

    func streamDrained(_ stream: TCPStream) {
        if !responsePausedByLog { exchange?.upstream?.resumeReading() }
    }

    func streamEnded(_ stream: TCPStream, _ error: UVError?) {
        clientGone(error.map { "client connection failed: \($0.message)" } ?? "client closed the connection")
    }

    func streamWriteFailed(_ stream: TCPStream, _ error: UVError) {
        clientGone("writing to the client failed: \(error.message)")
    }

    func streamConnected(_ stream: TCPStream, _ error: UVError?) {}

    /// The client went away: cancel the upstream request at once (a reset, not a polite close).
    private func clientGone(_ why: String) {
        if exchange != nil {
            exchange!.upstream?.abort()
            exchange!.upstream = nil
            clientIsGone = true
            finishExchange(.clientAborted, error: why, upstreamReusable: false)
        }
        close(flushingFirst: false)
    }

    // MARK: Timers

    private func arm(_ phase: TimerPhase) {
        timerPhase = phase
        timer.expire(in: phase == .header ? gateway.config.headerTimeout : gateway.config.idleTimeout)
    }

    private func disarm() {
        timerPhase = .none
        timer.clear()
    }

    private func timerFired() {
        switch timerPhase {
        case .none: return
        case .idle: close(flushingFirst: false)
        case .linger:
            // The client never read the end of its last response: stop waiting.
            stream.close()
            timer.close()
            lingering = nil
        case .header:
            if parser.isInMessage || !pendingInput.isEmpty {
                requestFailed(GatewayFailure(.headerTimeout, "request head not received within \(gateway.config.headerTimeout) ms"))
                flushToClient()
            } else {
                close(flushingFirst: false)
            }
        }
    }

    // MARK: Closing

    /// Closes an idle connection (drain) or, later, once its exchange finishes.
    func closeWhenIdle() {
        if isIdle { close(flushingFirst: true) }
    }

    func close(flushingFirst: Bool) {
        guard slot >= 0 else { return }
        gateway.remove(self)
        if flushingFirst { stream.flush() }
        if !flushingFirst || stream.pendingBytes == 0 {
            timerPhase = .none
            timer.close()
            stream.close()
            return
        }
        // Bytes are still queued for a slow reader: close once they are written, but not wait forever.
        // The connection keeps itself alive until the timer has fired (the stream lets go of it on close).
        stream.closeWhenWritten()
        lingering = self
        timerPhase = .linger
        timer.unref()
        timer.expire(in: ClientConnection.lingerTimeout)
    }

    private var lingering: ClientConnection?
    static let lingerTimeout: UInt64 = 10_000

    /// Force-closes everything (drain deadline passed).
    func abort() {
        if exchange != nil {
            exchange!.upstream?.abort()
            exchange!.upstream = nil
            clientIsGone = true
            finishExchange(.clientAborted, error: "gateway shut down before the exchange finished", upstreamReusable: false)
        }
        close(flushingFirst: false)
    }
}

extension StaticString {
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: utf8Start, count: utf8CodeUnitCount) }
}
