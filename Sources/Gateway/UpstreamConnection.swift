// One connection to the upstream: connects (trying each resolved address), opens a CONNECT tunnel through a
// forward proxy and a TLS session when its endpoint asks for them, carries one exchange at a time for its
// owner, parses the response incrementally and hands every piece to the owner as it is parsed.
import HTTP1
import TLS
import UV

/// Loop-owned. While carrying an exchange, `owner` is the client connection; while pooled, `owner` is nil
/// and the connection reads only to notice the upstream closing it.
final class UpstreamConnection: TCPStreamDelegate, HTTPParserDelegate {
    enum State { case resolving, connecting, tunneling, handshaking, ready, closed }
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

    /// TLS with the origin (HTTPS upstreams), and the plaintext gathered for it until the next flush (one
    /// TLS record per flush rather than one per piece).
    private var tls: TLSEngine?
    private var plaintextOut: [UInt8] = []
    private var handshakeStarted: UInt64 = 0
    /// How long this connection's TLS handshake took (0: no handshake, or not this exchange's).
    private(set) var tlsHandshakeNanos: UInt64 = 0
    /// The CONNECT answer's status while tunnelling.
    private var proxyStatus = 0
    private var endpoint: UpstreamEndpoint { pool.endpoint }

    init(pool: UpstreamPool) {
        self.pool = pool
        self.loop = pool.loop
        parser = HTTPParser(kind: .response, delegate: self, maxHeadBytes: pool.config.maxHeadBytes)
        timer = DeadlineTimer(loop: loop) { [unowned self] in self.timerFired() }
        pool.metrics.adjust(.upstreamConnections, by: 1)
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
                fail(.upstreamUnreachable, "cannot connect to \(endpoint.connectTarget) (\(addresses[addressIndex - 1])): \(error.message)")
            }
            return
        }
        stream.setNoDelay()
        stream.startReading()
        if endpoint.tunnels {
            state = .tunneling
            endpoint.connectRequest.withUnsafeBytes { stream.write(borrowing: $0) }
            stream.flush()
        } else {
            startTLSOrFinish()
        }
    }

    /// The proxy's answer to CONNECT (parsed by the response parser, which starts afresh afterwards).
    private func readProxyAnswer(_ bytes: UnsafeRawBufferPointer) {
        let proxy = endpoint.proxy!
        switch parser.execute(bytes) {
        case .consumed:
            return
        case .failed(let error):
            fail(.upstreamUnreachable, "invalid answer to CONNECT from forward proxy \(proxy): \(error.reason)")
        case .paused(let consumed):
            let reason = String(decoding: parser.head.bytes[parser.head.target], as: UTF8.self)
            parser = HTTPParser(kind: .response, delegate: self, maxHeadBytes: pool.config.maxHeadBytes)
            let target = endpoint.origin.authority
            switch proxyStatus {
            case 200..<300 where consumed == bytes.count:
                startTLSOrFinish()
            case 200..<300:
                fail(.upstreamUnreachable, "forward proxy \(proxy) sent bytes before the tunnel to \(target) was used")
            case 407:
                let why = proxy.authorization == nil ? "requires authentication and none is configured"
                                                     : "refused the configured credentials"
                fail(.upstreamUnreachable, "forward proxy \(proxy) \(why) (407 \(reason))")
            default:
                fail(.upstreamUnreachable, "forward proxy \(proxy) refused CONNECT to \(target): \(proxyStatus) \(reason)")
            }
        }
    }

    private func startTLSOrFinish() {
        guard endpoint.usesTLS else {
            connectionReady()
            return
        }
        do {
            tls = try TLSEngine(client: pool.config.tlsContext!, host: endpoint.origin.host, sessionCache: pool.tlsSessions)
        } catch {
            fail(.upstreamUnreachable, "cannot start TLS with upstream \(endpoint.origin.authority): \(error.message)")
            return
        }
        state = .handshaking
        handshakeStarted = EventLoop.hrtime()
        continueHandshake()
    }

    private func continueHandshake() {
        switch tls!.handshake() {
        case .wantMore:
            sendCiphertext()
        case .done:
            sendCiphertext()
            tlsHandshakeNanos = EventLoop.hrtime() - handshakeStarted
            connectionReady()
        case .failed(let why):
            fail(.upstreamUnreachable, "TLS handshake with upstream \(endpoint.origin.authority) failed: \(why)")
        }
    }

    /// Connected (and tunnelled, and encrypted): the exchange's request goes out.
    private func connectionReady() {
        state = .ready
        if owner != nil {
            arm(.awaitingHead, pool.config.upstreamTimeout)
            owner?.upstreamConnected(self)
        }
        guard !preconnect.isEmpty, let stream else { return }
        preconnect.withUnsafeBytes { send(borrowing: $0) }
        flush()
        preconnect.removeAll()
        // The owner may have paused its reader on the pre-connect buffer. If the kernel took it all, the
        // stream never passes its watermark and will not report a drain: report it here.
        if !stream.isCongested { owner?.upstreamDrained() }
    }

    /// Whether this connection's TLS handshake resumed a session (for the log record).
    var tlsResumed: Bool { tls?.resumedSession ?? false }

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
            // A pooled connection's handshake belongs to the exchange that opened it.
            tlsHandshakeNanos = 0
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

    /// Request bytes towards the upstream; borrowed until `flush()`, copied if not yet connected (or for TLS).
    func send(borrowing bytes: UnsafeRawBufferPointer) {
        if !keptForLater(bytes) { stream!.write(borrowing: bytes) }
    }

    func send(copying bytes: UnsafeRawBufferPointer) {
        if !keptForLater(bytes) { stream!.write(copying: bytes) }
    }

    /// Copies bytes that cannot go to the socket as they are: before the connection is ready (the pre-connect
    /// buffer) or for TLS (plaintext gathered for one record per flush). True when it took them.
    @inline(__always)
    private func keptForLater(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if state != .ready {
            preconnect.append(contentsOf: bytes)
        } else if tls != nil {
            plaintextOut.append(contentsOf: bytes)
        } else {
            return false
        }
        return true
    }

    func flush() {
        guard state == .ready else { return }
        guard let tls else {
            stream!.flush()
            return
        }
        if let failure = tls.encrypt(&plaintextOut) {
            owner?.upstreamFailed(GatewayFailure(.upstreamBroken, "encrypting the request failed: \(failure)"))
            return
        }
        sendCiphertext()
    }

    /// Hands what TLS produced to the socket (borrowed, then copied by the stream only if the kernel refuses it).
    private func sendCiphertext() {
        guard let tls, let stream else { return }
        tls.takeCiphertext { ciphertext in
            stream.write(borrowing: ciphertext)
            stream.flush()
        }
    }

    /// True when request bytes are piling up faster than the upstream takes them.
    var isCongested: Bool {
        state == .ready ? stream!.isCongested : preconnect.count > 256 * 1024
    }

    func pauseReading() { stream?.stopReading() }
    func resumeReading() { if state == .ready { stream?.startReading() } }

    // MARK: Reading the response

    func streamRead(_ stream: TCPStream, _ bytes: UnsafeRawBufferPointer) {
        lastActivity = loop.now
        switch state {
        case .ready:
            if tls != nil { readEncrypted(bytes) } else { readResponse(bytes) }
        case .tunneling:
            readProxyAnswer(bytes)
        case .handshaking:
            tls!.receive(bytes)
            continueHandshake()
        case .resolving, .connecting, .closed:
            break
        }
    }

    /// Decrypts what was read into the loop's derived buffer, a buffer's worth at a time, and parses it.
    private func readEncrypted(_ bytes: UnsafeRawBufferPointer) {
        guard let tls else { return }
        tls.receive(bytes)
        let buffer = loop.derivedBuffer
        while state == .ready {
            var filled = 0
            var ending: TLSEngine.ReadResult? = nil
            fill: while filled < buffer.count {
                let result = tls.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                switch result {
                case .bytes(let count): filled += count
                case .wantMore: break fill
                case .closed, .failed: ending = result; break fill
                }
            }
            // Reading can produce ciphertext too (key updates, alerts).
            sendCiphertext()
            if filled > 0 { readResponse(UnsafeRawBufferPointer(rebasing: buffer[0..<filled])) }
            guard state == .ready else { return }
            switch ending {
            case .closed?: endOfStream(error: nil); return
            case .failed(let why)?: endOfStream(error: "TLS with upstream \(endpoint.origin.authority) failed: \(why)"); return
            default: if filled < buffer.count { return }  // all received ciphertext decrypted
            }
        }
    }

    /// Plaintext response bytes.
    private func readResponse(_ bytes: UnsafeRawBufferPointer) {
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
        switch state {
        case .tunneling:
            fail(.upstreamUnreachable, "forward proxy \(endpoint.proxy!) closed the connection before answering CONNECT" + (error.map { ": \($0.message)" } ?? ""))
        case .handshaking:
            fail(.upstreamUnreachable, "upstream \(endpoint.origin.authority) closed the connection during the TLS handshake" + (error.map { ": \($0.message)" } ?? ""))
        default:
            endOfStream(error: error.map { "upstream connection failed: \($0.message)" })
        }
    }

    /// The upstream's side ended: cleanly (`error == nil`: TCP FIN or TLS close_notify) or not.
    private func endOfStream(error: String?) {
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
        owner.upstreamFailed(GatewayFailure(.upstreamBroken, error ?? "upstream closed the connection before the response was complete"))
        owner.flushToClient()
    }

    func streamWriteFailed(_ stream: TCPStream, _ error: UVError) {
        owner?.upstreamFailed(GatewayFailure(.upstreamBroken, "sending the request upstream failed: \(error.message)"))
    }

    func streamDrained(_ stream: TCPStream) { owner?.upstreamDrained() }

    // MARK: Parser callbacks, straight through to the exchange

    func parserHeadComplete(_ parser: HTTPParser) -> HeadVerdict {
        if state == .tunneling {
            // A successful CONNECT answer has no body; a refusal's body is of no use to us.
            proxyStatus = parser.head.status
            return .skipBody
        }
        if timerPhase == .awaitingHead { arm(.body, pool.config.upstreamTimeout) }
        return owner?.responseHead(parser.head, parser: parser) ?? .reject
    }

    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) { owner?.responseBody(bytes) }
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) { owner?.responseChunkHeader(size: size) }
    func parserChunkComplete(_ parser: HTTPParser) { owner?.responseChunkComplete() }
    func parserMessageComplete(_ parser: HTTPParser) -> Bool {
        // An interim 1xx response is not the end of the exchange.
        let status = parser.head.status
        return !(status >= 100 && status < 200) || state == .tunneling
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
        plaintextOut = []
        stream?.startReading()
    }

    private func timerFired() {
        switch timerPhase {
        case .none: return
        case .connect:
            let limit = pool.config.connectTimeout
            switch state {
            case .tunneling:
                fail(.upstreamUnreachable, "forward proxy \(endpoint.proxy!) did not answer CONNECT within \(limit) ms")
            case .handshaking:
                fail(.upstreamUnreachable, "TLS handshake with upstream \(endpoint.origin.authority) did not finish within \(limit) ms")
            default:
                fail(.connectTimeout, "connecting to \(endpoint.connectTarget) timed out after \(limit) ms")
            }
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
        pool.metrics.adjust(.upstreamConnections, by: -1)
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
