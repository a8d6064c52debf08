// One client connection and the exchanges it carries, one at a time, in request order: the request is parsed and
// forwarded as it arrives, the response written back as the upstream connection hands it over. What each event
// means for the exchange is ExchangeMachine's to say; this type holds the socket, the parser and the buffers.
import HTTP1
import UV

/// Loop-owned (the gateway's loop thread). Kept alive by the gateway's connection list until closed.
final class ClientConnection: TCPStreamDelegate, HTTPParserDelegate, LogRoomWaiter, UpstreamResponseHandler {
    enum State {
        case open
        /// Closed by kgb with bytes still queued for a slow reader: waiting for them to be written (bounded).
        case lingering
        case closed
    }
    enum Deadline { case none, header, idle, linger }

    /// The gateway outlives every connection it accepted (unsafe-unowned: no reference counting per access).
    unowned(unsafe) let gateway: Gateway
    let stream: TCPStream
    private var parser: HTTPParser!
    let clientAddress: String
    private let clientIP: [UInt8]
    private(set) var state = State.open
    /// Index in the gateway's connection list.
    var slot = -1

    private var exchange: ExchangeMachine?
    private var upstream: UpstreamConnection?
    private var requestOptions = ConnectionOptions()
    private var responseOptions = ConnectionOptions()
    /// A rule the request head broke (found in the head callback, acted on once the parser returns).
    private var rejection: GatewayFailure?
    private var headOut: [UInt8] = []
    /// Bytes after the current request (pipelined), parsed once the exchange finishes; bounded.
    private var pipelined: [UInt8] = []
    private var replaying: [UInt8] = []
    static let pipelinedLimit = 64 * 1024
    private var timer: DeadlineTimer!
    private var deadline = Deadline.none

    init(gateway: Gateway, stream: TCPStream) {
        self.gateway = gateway
        self.stream = stream
        let peer = stream.peerAddress
        clientAddress = peer?.description ?? "unknown"
        clientIP = Array((peer?.ip ?? "unknown").utf8)
        parser = HTTPParser(kind: .request, delegate: self, maxHeadBytes: gateway.config.maxHeadBytes)
        timer = DeadlineTimer(loop: gateway.loop) { [unowned self] in self.deadlinePassed() }
        stream.delegate = self
        stream.setNoDelay()
        stream.startReading()
        arm(.header)
    }

    var isIdle: Bool { exchange == nil && !parser.isInMessage && pipelined.isEmpty }

    // MARK: Requests in

    func streamRead(_ stream: TCPStream, _ bytes: UnsafeRawBufferPointer) {
        guard !parser.isPaused else {
            // The current exchange is still running; keep what follows for later, within a bound.
            pipelined.append(contentsOf: bytes)
            if pipelined.count > ClientConnection.pipelinedLimit { pause(.pipelineBacklog) }
            return
        }
        if deadline == .idle { arm(.header) }
        feed(bytes)
    }

    /// Parses request bytes and acts on what they complete, then sends what was written on both sides.
    private func feed(_ bytes: UnsafeRawBufferPointer) {
        switch parser.execute(bytes) {
        case .consumed:
            break
        case .paused(let consumed):
            if consumed < bytes.count { pipelined.append(contentsOf: bytes[consumed...]) }
            requestComplete()
        case .failed(let error):
            requestFailed(rejection ?? GatewayFailure(error.kind == .headTooLarge ? .headTooLarge : .badRequest,
                                                     "invalid request: \(error.reason)"))
        }
        upstream?.flush()
        upstreamReadDone()
        if let upstream, upstream.isCongested { pause(.upstreamCongested) }
    }

    func parserHeadComplete(_ parser: HTTPParser) -> HeadVerdict {
        let head = parser.head
        if let failure = RequestRules.violation(head) {
            rejection = failure
            return .reject
        }
        disarm()
        let target = RequestRules.originFormTarget(head)
        let route = head.withBytes(target) { gateway.routes.match($0) }
        begin(head, route: route)
        guard let route else {
            fail(GatewayFailure(.noRoute, "no route for path \(String(decoding: head.bytes[target], as: UTF8.self))"), outcome: .rejected)
            return .proceed
        }
        let upstream = route.pool.acquire(for: self)
        self.upstream = upstream
        requestOptions.collect(from: head)
        headOut.removeAll(keepingCapacity: true)
        route.writeRequestHead(head, target: target, connectionOptions: requestOptions, clientIP: clientIP,
                               framing: exchange!.requestFraming, into: &headOut)
        headOut.withUnsafeBytes { upstream.send(borrowing: $0) }
        // The body is streamed upstream as it comes, so kgb asks for it at once (RFC 9110 §10.1.1).
        if RequestRules.expectsContinue(head) { stream.write(copying: ClientConnection.continueLine.bytes) }
        return .proceed
    }

    static let continueLine: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"

    /// A new exchange, recorded from its first moment.
    private func begin(_ head: HTTPHead, route: Route?) {
        var exchange = ExchangeMachine(id: gateway.nextExchangeID(), requestFraming: RequestRules.bodyFraming(head),
                                       isHeadRequest: head.method == .head, clientIsHTTP10: !head.isHTTP11OrLater,
                                       closesConnection: !head.keepAlive || gateway.isDraining)
        exchange.timing.started = EventLoop.hrtime()
        exchange.routeIndex = route?.index ?? gateway.routes.noneIndex
        gateway.observer.exchangeStarted(exchange.id, client: clientAddress, upstream: route?.upstreamLabel ?? [], request: head)
        self.exchange = exchange
    }

    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) {
        guard let upstream, let id = exchange?.id else { return }
        upstream.send(borrowing: bytes)
        exchange!.timing.requestBodyBytes &+= UInt64(bytes.count)
        if !gateway.observer.requestBody(id, bytes) { logRefused(.requestLogFull) }
    }

    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) {
        guard let upstream, exchange?.requestChunkStarts(size: size) == true else { return }
        sendChunkSizeLine(size) { upstream.send(copying: $0) }
    }

    func parserChunkComplete(_ parser: HTTPParser) {
        guard let upstream, exchange?.requestChunkEndIsWritten == true else { return }
        upstream.send(copying: ChunkFraming.chunkEnd.bytes)
    }

    /// Pauses: the next pipelined request waits until this exchange has finished.
    func parserMessageComplete(_ parser: HTTPParser) -> Bool { true }

    private func requestComplete() {
        guard exchange != nil else { return }
        if exchange!.requestFraming == .chunked { upstream?.send(copying: ChunkFraming.lastChunk.bytes) }
        exchange!.requestReceived()
    }

    /// The request broke the protocol: answered with the error before a response head, the connection cut after;
    /// either way the connection closes (its framing can no longer be trusted).
    private func requestFailed(_ failure: GatewayFailure) {
        rejection = nil
        if exchange == nil { begin(parser.head, route: nil) }  // every exchange produces one record
        exchange!.requestBroken()
        upstream?.abort()
        upstream = nil
        fail(failure, outcome: .rejected)
    }

    // MARK: Responses out (UpstreamResponseHandler)

    func upstreamReady(_ connection: UpstreamConnection) {
        exchange?.timing.upstreamConnected = EventLoop.hrtime()
        exchange?.timing.upstreamTLSHandshake = connection.tlsHandshakeNanos
        exchange?.timing.upstreamTLSResumed = connection.tlsResumed
    }

    func responseHead(_ head: HTTPHead) -> HeadVerdict {
        guard exchange != nil else { return .reject }
        let action = exchange!.responseHead(status: head.status, contentLength: head.contentLength,
                                            isChunked: head.isChunked, draining: gateway.isDraining)
        responseOptions.collect(from: head)
        headOut.removeAll(keepingCapacity: true)
        switch action {
        case .reject:
            return .reject
        case .interim(let relay):
            guard relay else { return .proceed }
            HeadWriter.clientResponse(head, connectionOptions: responseOptions, framing: .none, close: false,
                                      clientIsHTTP10: false, into: &headOut)
            headOut.withUnsafeBytes { stream.write(copying: $0) }  // the final head may reuse the buffer before a flush
            return .proceed
        case .final(let framing, let close, let skipBody):
            exchange!.timing.responseHead = EventLoop.hrtime()
            HeadWriter.clientResponse(head, connectionOptions: responseOptions, framing: framing, close: close,
                                      clientIsHTTP10: exchange!.clientIsHTTP10, into: &headOut)
            headOut.withUnsafeBytes { stream.write(borrowing: $0) }
            gateway.observer.responseHead(exchange!.id, head)
            return skipBody ? .skipBody : .proceed
        }
    }

    func responseBody(_ bytes: UnsafeRawBufferPointer) {
        // Per fragment: the exchange is read and written in place (no copy of it, no reference counting).
        guard exchange != nil else { return }
        if exchange!.timing.firstBodyByte == 0 { exchange!.timing.firstBodyByte = EventLoop.hrtime() }
        exchange!.timing.responseBodyBytes &+= UInt64(bytes.count)
        if exchange!.bodyWrite == .asChunk {
            sendChunkSizeLine(UInt64(bytes.count)) { stream.write(copying: $0) }
            stream.write(borrowing: bytes)
            stream.write(copying: ChunkFraming.chunkEnd.bytes)
        } else {
            stream.write(borrowing: bytes)
        }
        if !gateway.observer.responseBody(exchange!.id, bytes) { logRefused(.responseLogFull) }
    }

    func responseChunkStarts(size: UInt64) {
        guard exchange?.responseChunkStarts(size: size) == true else { return }
        sendChunkSizeLine(size) { stream.write(copying: $0) }
    }

    func responseChunkEnds() {
        if exchange?.responseChunkEndIsWritten == true { stream.write(copying: ChunkFraming.chunkEnd.bytes) }
    }

    func responseComplete(reusable: Bool) {
        guard exchange != nil else { return }
        switch exchange!.responseComplete(upstreamReusable: reusable) {
        case .fail(let failure):
            upstreamFailed(failure)
        case .finish(let lastChunk, let reuseUpstream):
            if lastChunk { stream.write(copying: ChunkFraming.lastChunk.bytes) }
            finish(.complete, error: nil, reuseUpstream: reuseUpstream)
        }
    }

    func upstreamFailed(_ failure: GatewayFailure) {
        guard exchange != nil else { return }
        upstream?.close()
        upstream = nil
        fail(failure, outcome: failure.outcome)
    }

    func upstreamDrained() { resume(.upstreamCongested) }

    func upstreamReadDone() {
        stream.flush()
        if stream.isCongested, upstream != nil { pause(.clientCongested) }
    }

    private func sendChunkSizeLine(_ size: UInt64, _ send: (UnsafeRawBufferPointer) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: 20, alignment: 1) { line in
            send(UnsafeRawBufferPointer(rebasing: line[0..<ChunkFraming.sizeLine(size, into: line)]))
        }
    }

    // MARK: The end of an exchange

    private func fail(_ failure: GatewayFailure, outcome: Outcome) {
        guard exchange != nil else { return }
        if case .answer(_, let close) = exchange!.failed(failure) {
            stream.write(copying: failure.response(close: close))
            stream.flush()  // a failure can come from a timer or a connect callback, outside any read
        }
        finish(outcome, error: failure.message, reuseUpstream: false)
    }

    /// The single exit of every exchange: releases or closes the upstream, emits the end record, and either
    /// closes the client connection or moves on to the next pipelined request.
    private func finish(_ outcome: Outcome, error: String?, reuseUpstream: Bool, clientGone: Bool = false) {
        guard var exchange else { return }
        self.exchange = nil
        if let upstream { if reuseUpstream { upstream.pool.release(upstream) } else { upstream.close() } }
        upstream = nil
        exchange.timing.ended = EventLoop.hrtime()
        gateway.observer.exchangeEnded(exchange.id, outcome: outcome, error: error, timing: exchange.timing)
        gateway.metrics.exchangeEnded(route: exchange.routeIndex, status: exchange.status, outcome: outcome, timing: exchange.timing)
        if clientGone { return close(flushingFirst: false) }
        if exchange.closesConnection || gateway.isDraining { return close(flushingFirst: true) }
        arm(.idle)
        parser.resume()
        stream.startReading()
        replayPipelined()
    }

    private func replayPipelined() {
        guard !pipelined.isEmpty else { return }
        arm(.header)
        swap(&pipelined, &replaying)
        replaying.withUnsafeBytes { feed($0) }
        replaying.removeAll(keepingCapacity: true)
    }

    /// The client went away (or kgb gave up on it): the upstream request is cancelled at once (a reset).
    private func clientGone(_ why: String) {
        if exchange != nil {
            upstream?.abort()
            upstream = nil
            finish(.clientAborted, error: why, reuseUpstream: false, clientGone: true)
        }
        close(flushingFirst: false)
    }

    func streamEnded(_ stream: TCPStream, _ error: UVError?) {
        clientGone(error.map { "client connection failed: \($0.message)" } ?? "client closed the connection")
    }

    func streamWriteFailed(_ stream: TCPStream, _ error: UVError) { clientGone("writing to the client failed: \(error.message)") }
    func streamDrained(_ stream: TCPStream) { resume(.clientCongested) }
    func streamConnected(_ stream: TCPStream, _ error: UVError?) {}

    // MARK: Pauses (the reasons are the exchange's; stopping and starting the reads is done here)

    private func pause(_ reason: ExchangeMachine.Pauses) {
        switch exchange?.pause(reason) {
        case .client?: stream.stopReading()
        case .upstream?: upstream?.pauseReading()
        case nil: break
        }
    }

    private func resume(_ reason: ExchangeMachine.Pauses) {
        switch exchange?.resume(reason) {
        case .client?: stream.startReading()
        case .upstream?: upstream?.resumeReading()
        case nil: break
        }
    }

    private func logRefused(_ reason: ExchangeMachine.Pauses) {
        guard exchange?.isPaused(reason) == false else { return }
        pause(reason)
        gateway.observer.notifyWhenRoom(self)
    }

    func logHasRoom() {
        resume(.requestLogFull)
        resume(.responseLogFull)
    }

    // MARK: Deadlines

    private func arm(_ phase: Deadline) {
        deadline = phase
        timer.expire(in: phase == .header ? gateway.config.headerTimeout : gateway.config.idleTimeout)
    }

    private func disarm() {
        deadline = .none
        timer.clear()
    }

    private func deadlinePassed() {
        switch deadline {
        case .none: return
        case .idle: close(flushingFirst: false)
        case .linger:
            // The client never read the end of its last response: stop waiting.
            state = .closed
            stream.close()
            timer.close()
            lingering = nil
        case .header:
            guard parser.isInMessage || !pipelined.isEmpty else { return close(flushingFirst: false) }
            requestFailed(GatewayFailure(.headerTimeout, "request head not received within \(gateway.config.headerTimeout) ms"))
            upstreamReadDone()
        }
    }

    // MARK: Closing

    /// Closes an idle connection (drain); a busy one closes after its exchange (drain sets that).
    func closeWhenIdle() {
        if isIdle { close(flushingFirst: true) }
    }

    func close(flushingFirst: Bool) {
        guard state == .open else { return }
        gateway.remove(self)
        if flushingFirst { stream.flush() }
        guard flushingFirst && stream.pendingBytes > 0 else {
            state = .closed
            deadline = .none
            timer.close()
            return stream.close()
        }
        // Bytes are still queued for a slow reader: close once they are written, but not wait forever. The
        // connection keeps itself alive until then (the stream lets go of it on close).
        state = .lingering
        stream.closeWhenWritten()
        lingering = self
        deadline = .linger
        timer.unref()
        timer.expire(in: ClientConnection.lingerTimeout)
    }

    private var lingering: ClientConnection?
    static let lingerTimeout: UInt64 = 10_000

    /// Force-closes everything (the drain deadline passed).
    func abort() { clientGone("gateway shut down before the exchange finished") }
}

extension StaticString {
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: utf8Start, count: utf8CodeUnitCount) }
}
