// One connection to an upstream, as an exchange uses it: request bytes out through its UpstreamTransport, the
// response parsed as it is read and each piece handed to the exchange's UpstreamResponseHandler, and the deadline of
// each phase. Between exchanges it waits in its pool, read only to notice the upstream closing it.
import HTTP1
import TLS
import UV

/// Loop-owned. `handler` is set by `begin` and cleared by `end`; a pooled connection has none.
final class UpstreamConnection: TCPStreamDelegate, HTTPParserDelegate, UpstreamConnectorDelegate {
    enum State { case resolving, connecting(UpstreamConnector), ready, closed }

    /// Strong and immutable, so used without reference counting (see `ClientConnection.gateway`). The pool keeps
    /// only idle connections, and lets go of each when it leaves.
    let pool: UpstreamPool
    private(set) var state = State.resolving
    private let transport = UpstreamTransport()
    private let parser: HTTPParser
    private(set) var handler: UpstreamResponseHandler?
    /// Index in the pool's idle list, or -1.
    var idleSlot = -1
    private let timer: DeadlineTimer
    private var deadline = UpstreamDeadline()
    /// This exchange's TLS handshake (0: none, or the connection was pooled), and whether it resumed a session.
    private(set) var tlsHandshakeNanos: UInt64 = 0
    var tlsResumed: Bool { transport.resumedTLSSession }
    private var loop: EventLoop { pool.loop }

    init(pool: UpstreamPool) {
        self.pool = pool
        parser = HTTPParser(kind: .response, maxHeadBytes: pool.config.maxHeadBytes)
        timer = DeadlineTimer(loop: pool.loop)
        parser.delegate = self
        timer.whenDue { [unowned self] in self.deadlinePassed() }
        pool.metrics.adjust(.upstreamConnections, by: 1)
    }

    var isReady: Bool { if case .ready = state { true } else { false } }

    // MARK: Connecting (UpstreamConnector does the work)

    func connect(to addresses: [SocketAddress]) {
        guard case .resolving = state else { return }
        arm(.connect, pool.config.connectTimeout)
        state = .connecting(UpstreamConnector(addresses: addresses, pool: pool, delegate: self))
    }

    func connectorReady(_ stream: TCPStream, tls: TLSEngine?, handshakeNanos: UInt64) {
        stream.delegate = self
        tlsHandshakeNanos = handshakeNanos
        state = .ready
        let (sentPending, failure) = transport.open(stream, tls: tls)
        guard let handler else { return }
        arm(.awaitingHead, pool.config.upstreamTimeout)
        handler.upstreamReady(self)
        if let failure { return encryptionFailed(failure) }
        // The exchange may have paused its client on the bytes kept while connecting. If the kernel took them all,
        // the stream never passes its watermark and will not report a drain: report it here.
        if sentPending && !stream.isCongested { handler.upstreamDrained() }
    }

    /// Connecting failed, or resolving did (the pool resolves for all its new connections).
    func connectorFailed(_ failure: GatewayFailure) {
        let handler = self.handler
        close()
        handler?.upstreamFailed(failure)
    }

    // MARK: Carrying an exchange

    func begin(for handler: UpstreamResponseHandler) {
        self.handler = handler
        guard isReady else { return }
        tlsHandshakeNanos = 0  // a pooled connection's handshake belongs to the exchange that opened it
        arm(.awaitingHead, pool.config.upstreamTimeout)
        transport.startReading()
    }

    /// Detaches from the exchange after it completed (the pool decides whether the connection is kept).
    func end() {
        handler = nil
        disarm()
    }

    /// Request bytes, borrowed until `flush()`.
    func send(borrowing bytes: UnsafeRawBufferPointer) { transport.write(borrowing: bytes) }
    func send(copying bytes: UnsafeRawBufferPointer) { transport.write(copying: bytes) }
    var isCongested: Bool { transport.isCongested }

    func flush() {
        if let failure = transport.flush() { encryptionFailed(failure) }
    }

    private func encryptionFailed(_ why: String) {
        handler?.upstreamFailed(GatewayFailure(.upstreamBroken, "encrypting the request failed: \(why)"))
    }

    func pauseReading() { transport.holdReadsBack() }

    func resumeReading() {
        deadline.activity(at: loop.now)  // the time kgb held the upstream back is not the upstream's silence
        transport.startReading()
    }

    // MARK: Reading the response

    func streamRead(_ stream: TCPStream, _ bytes: UnsafeRawBufferPointer) {
        deadline.activity(at: loop.now)
        guard transport.isOpen else { return pool.discard(self) }
        let handler = self.handler
        let ending = transport.read(bytes) { plaintext in
            // A pooled connection must be silent (TLS may still bring a session ticket, which is no plaintext),
            // and so must one whose exchange ended inside these bytes.
            guard self.handler != nil else {
                pool.discard(self)
                return false
            }
            parse(plaintext)
            return isReady
        }
        guard isReady, let ending else { return }
        switch ending {
        case .closed: endOfStream(error: nil)
        case .failed(let why): endOfStream(error: "TLS with upstream \(pool.endpoint.origin.authority) failed: \(why)")
        }
        handler?.upstreamReadDone()
    }

    /// Parses plaintext and has it sent on before returning: the client's writes borrow these bytes until then.
    private func parse(_ bytes: UnsafeRawBufferPointer) {
        let handler = self.handler
        defer { handler?.upstreamReadDone() }
        switch parser.execute(bytes) {
        case .consumed:
            break
        case .paused(let consumed):
            parser.resume()
            // Bytes after the response's end mean the upstream is out of step: never reuse this connection.
            self.handler?.responseComplete(reusable: consumed == bytes.count && parser.head.keepAlive)
        case .failed(let error):
            // `self.handler`: an exchange that left this connection inside the parser (failover) hears nothing more.
            self.handler?.upstreamFailed(GatewayFailure(.upstreamBroken, "invalid response from upstream: \(error.reason)"))
        }
    }

    func streamEnded(_ stream: TCPStream, _ error: UVError?) {
        let handler = self.handler
        endOfStream(error: error.map { "upstream connection failed: \($0.message)" })
        handler?.upstreamReadDone()
    }

    /// The upstream's side ended: cleanly (`error == nil`: FIN or close_notify) or not.
    private func endOfStream(error: String?) {
        guard let handler else { return pool.discard(self) }
        // A close-delimited body ends with the connection: finish() then completes the message.
        if error == nil, case .paused = parser.finish() { return handler.responseComplete(reusable: false) }
        handler.upstreamFailed(GatewayFailure(.upstreamBroken, error ?? "upstream closed the connection before the response was complete"))
    }

    func streamWriteFailed(_ stream: TCPStream, _ error: UVError) {
        handler?.upstreamFailed(GatewayFailure(.upstreamBroken, "sending the request upstream failed: \(error.message)"))
    }

    func streamDrained(_ stream: TCPStream) { handler?.upstreamDrained() }

    // MARK: Parser callbacks, straight to the exchange

    func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict {
        deadline.headArrived(now: loop.now)
        return handler?.responseHead(head) ?? .reject
    }

    /// The response's head has been used (see `HTTPParser.releaseHeadBuffers`).
    func releaseResponseHead() { parser.releaseHeadBuffers() }

    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) { handler?.responseBody(bytes) }
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) { handler?.responseChunkStarts(size: size) }
    func parserChunkComplete(_ parser: HTTPParser) { handler?.responseChunkEnds() }
    /// Pauses at the end of a final response; an interim (1xx) one is not the end of the exchange.
    func parserMessageComplete(_ parser: HTTPParser) -> Bool { !(100..<200).contains(parser.head.status) }

    // MARK: Deadlines

    private func arm(_ phase: UpstreamDeadline.Phase, _ milliseconds: UInt64) {
        deadline.set(phase, now: loop.now)
        timer.expire(in: milliseconds)
    }

    private func disarm() {
        deadline.clear()
        timer.clear()
    }

    func enterPool() {
        arm(.pooled, pool.config.poolIdleTimeout)
        transport.startReading()
    }

    private func deadlinePassed() {
        let handler = self.handler
        switch deadline.expired(now: loop.now, upstreamTimeout: pool.config.upstreamTimeout,
                                readingPaused: !transport.isReading) {
        case .nothing: return
        case .rearm(let milliseconds): return timer.expire(in: milliseconds)
        case .connectTimedOut:
            if case .connecting(let connector) = state { connector.timedOut(after: pool.config.connectTimeout) }
        case .failed(let failure): handler?.upstreamFailed(failure)
        case .discard: pool.discard(self)
        case .heldBack:
            let limit = pool.config.upstreamTimeout
            if handler?.upstreamHeldBack(for: limit) == true { timer.expire(in: limit) }
        }
        handler?.upstreamReadDone()
    }

    /// The exchange is done with it: back to the pool to be reused, or closed (the pool decides). Called on the
    /// connection, so the pool is reached through its strong let (no reference counting).
    func returnToPool() { pool.release(self) }

    // MARK: Closing

    func close() {
        if case .closed = state { return }
        if case .connecting(let connector) = state { connector.cancel(reset: false) }
        state = .closed
        pool.metrics.adjust(.upstreamConnections, by: -1)
        handler = nil
        timer.close()
        transport.close()
    }

    /// Closes with a reset: the upstream sees the request cancelled at once.
    func abort() {
        if case .connecting(let connector) = state { connector.cancel(reset: true) }
        transport.reset()
        close()
    }
}
