// One TCP connection to the upstream: connects (trying each resolved address), carries one exchange at a
// time for its owner, parses the response incrementally and hands every piece to the owner as it is parsed.
import HTTP1
import UV

/// Loop-owned. While carrying an exchange, `owner` is the client connection; while pooled, `owner` is nil
/// and the connection reads only to notice the upstream closing it.
final class UpstreamConnection: TCPStreamDelegate, HTTPParserDelegate {
    enum State { case resolving, connecting, ready, closed }
    enum TimerPhase { case none, connect, awaitingHead, body, pooled }

    /// The pool lives as long as the gateway, longer than any of its connections.
    unowned(unsafe) let pool: UpstreamPool
    let loop: EventLoop
    private(set) var state = State.resolving
    private(set) var stream: TCPStream?
    private(set) var parser: HTTPParser!
    /// The exchange's client connection; set by `begin`, cleared by `end`.
    var owner: ClientConnection?
    /// Index in the pool's idle list, or -1.
    var idleSlot = -1

    private var addresses: [SocketAddress] = []
    private var addressIndex = 0
    /// Bytes sent before the connection is established (bounded by the owner's backpressure).
    private var preconnect: [UInt8] = []
    private var timer: DeadlineTimer!
    private var timerPhase = TimerPhase.none
    private var lastActivity: UInt64 = 0
    /// The response head, rewritten for the client; kept here until it is flushed.
    var responseHeadOut: [UInt8] = []

    init(pool: UpstreamPool) {
        self.pool = pool
        self.loop = pool.loop
        parser = HTTPParser(kind: .response, delegate: self, maxHeadBytes: pool.config.maxHeadBytes)
        timer = DeadlineTimer(loop: loop) { [unowned self] in self.timerFired() }
    }

    // MARK: Connecting

    func connect(to addresses: [SocketAddress]) {
        guard state == .resolving else { return }
        self.addresses = addresses
        addressIndex = 0
        arm(.connect, pool.config.connectTimeout)
        connectNext()
    }

    private func connectNext() {
        state = .connecting
        let stream = TCPStream(loop: loop)
        stream.delegate = self
        self.stream = stream
        stream.connect(to: addresses[addressIndex])
    }

    func streamConnected(_ stream: TCPStream, _ error: UVError?) {
        guard state == .connecting, stream === self.stream else { return }
        if let error {
            stream.close()
            addressIndex += 1
            if addressIndex < addresses.count {
                connectNext()
            } else {
                fail(.upstreamUnreachable, "cannot connect to upstream \(pool.config.upstream.authority) (\(addresses[addressIndex - 1])): \(error.message)")
            }
            return
        }
        state = .ready
        stream.setNoDelay()
        stream.startReading()
        if owner != nil {
            arm(.awaitingHead, pool.config.upstreamTimeout)
            owner?.upstreamConnected(self)
        }
        if !preconnect.isEmpty {
            preconnect.withUnsafeBytes { stream.write(borrowing: $0) }
            stream.flush()
            preconnect.removeAll()
            // The owner may have paused its reader on the pre-connect buffer. If the kernel took it all, the
            // stream never passes its watermark and will not report a drain: report it here.
            if !stream.isCongested { owner?.upstreamDrained() }
        }
    }

    /// Resolution or connection failed before any stream was usable.
    func fail(_ cause: GatewayFailure.Cause, _ message: String) {
        let owner = self.owner
        close()
        owner?.upstreamFailed(GatewayFailure(cause, message))
    }

    // MARK: Carrying an exchange

    func begin(for owner: ClientConnection) {
        self.owner = owner
        if state == .ready {
            arm(.awaitingHead, pool.config.upstreamTimeout)
            stream?.startReading()
        }
    }

    /// Detaches from the owner after a completed exchange (the pool decides whether it is kept).
    func end() {
        owner = nil
        disarm()
    }

    var isConnected: Bool { state == .ready }

    /// Request bytes towards the upstream; borrowed until `flush()`, copied if not yet connected.
    func send(borrowing bytes: UnsafeRawBufferPointer) {
        if state == .ready { stream!.write(borrowing: bytes) } else { preconnect.append(contentsOf: bytes) }
    }

    func send(copying bytes: UnsafeRawBufferPointer) {
        if state == .ready { stream!.write(copying: bytes) } else { preconnect.append(contentsOf: bytes) }
    }

    func flush() { if state == .ready { stream!.flush() } }

    /// True when request bytes are piling up faster than the upstream takes them.
    var isCongested: Bool {
        state == .ready ? stream!.isCongested : preconnect.count > 256 * 1024
    }

    func pauseReading() { stream?.stopReading() }
    func resumeReading() { if state == .ready { stream?.startReading() } }

    // MARK: Reading the response

    func streamRead(_ stream: TCPStream, _ bytes: UnsafeRawBufferPointer) {
        lastActivity = loop.now
        guard let owner else {
            // A pooled connection must be silent; bytes here mean the upstream is confused: drop it.
            pool.discard(self)
            return
        }
        switch parser.execute(bytes) {
        case .consumed:
            break
        case .paused(let consumed):
            parser.resume()
            // Bytes after the response's end mean the upstream is out of step: never reuse this connection.
            owner.responseComplete(reusable: consumed == bytes.count && parser.head.keepAlive)
        case .failed(let error):
            owner.upstreamFailed(GatewayFailure(.upstreamBroken, "invalid response from upstream: \(error.reason)"))
        }
        owner.flushToClient()
    }

    func streamEnded(_ stream: TCPStream, _ error: UVError?) {
        guard let owner else {
            pool.discard(self)
            return
        }
        // A close-delimited body ends with the connection: finish() then completes the message.
        if error == nil, case .paused = parser.finish() {
            owner.responseComplete(reusable: false)
            owner.flushToClient()
            return
        }
        let why = error.map { "upstream connection failed: \($0.message)" } ?? "upstream closed the connection before the response was complete"
        owner.upstreamFailed(GatewayFailure(.upstreamBroken, why))
        owner.flushToClient()
    }

    func streamWriteFailed(_ stream: TCPStream, _ error: UVError) {
        owner?.upstreamFailed(GatewayFailure(.upstreamBroken, "sending the request upstream failed: \(error.message)"))
    }

    func streamDrained(_ stream: TCPStream) { owner?.upstreamDrained() }

    // MARK: Parser callbacks, straight through to the exchange

    func parserHeadComplete(_ parser: HTTPParser) -> HeadVerdict {
        if timerPhase == .awaitingHead { arm(.body, pool.config.upstreamTimeout) }
        return owner?.responseHead(parser.head, parser: parser) ?? .reject
    }

    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) { owner?.responseBody(bytes) }
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) { owner?.responseChunkHeader(size: size) }
    func parserChunkComplete(_ parser: HTTPParser) { owner?.responseChunkComplete() }
    func parserMessageComplete(_ parser: HTTPParser) -> Bool {
        // An interim 1xx response is not the end of the exchange.
        let status = parser.head.status
        return !(status >= 100 && status < 200)
    }

    // MARK: Timers

    /// One deadline per connection, its meaning set by the phase. Body reads do not move it (that would be
    /// work per read); they stamp `lastActivity`, and an expiry re-arms itself for the remainder.
    private func arm(_ phase: TimerPhase, _ milliseconds: UInt64) {
        timerPhase = phase
        lastActivity = loop.now
        timer.expire(in: milliseconds)
    }

    private func disarm() {
        timerPhase = .none
        timer.clear()
    }

    func enterPool() {
        arm(.pooled, pool.config.poolIdleTimeout)
        stream?.startReading()
    }

    private func timerFired() {
        switch timerPhase {
        case .none: return
        case .connect:
            fail(.connectTimeout, "connecting to upstream \(pool.config.upstream.authority) timed out after \(pool.config.connectTimeout) ms")
        case .awaitingHead:
            owner?.upstreamFailed(GatewayFailure(.upstreamTimeout, "upstream sent no response head within \(pool.config.upstreamTimeout) ms"))
            owner?.flushToClient()
        case .body:
            let idle = loop.now - lastActivity
            if idle < pool.config.upstreamTimeout {
                timer.expire(in: pool.config.upstreamTimeout - idle)
            } else {
                owner?.upstreamFailed(GatewayFailure(.upstreamTimeout, "upstream sent nothing for \(pool.config.upstreamTimeout) ms mid-response"))
                owner?.flushToClient()
            }
        case .pooled:
            pool.discard(self)
        }
    }

    // MARK: Closing

    func close() {
        guard state != .closed else { return }
        state = .closed
        owner = nil
        timer.close()
        stream?.close()
        stream = nil
    }

    /// Closes with a reset: the upstream sees the request cancelled at once.
    func abort() {
        guard state != .closed else { return }
        stream?.reset()
        stream = nil
        close()
    }
}
