// One client connection and the requests it carries, one exchange at a time, in request order: bytes read are
// parsed as they arrive and each request handed to the connection's ExchangeRelay. This type owns the socket, the
// parser, what is pipelined behind the current request, the connection's deadlines and its closing.
import HTTP1
import UV

/// Loop-owned (the gateway's loop thread). Kept alive by the gateway's connection list until closed.
final class ClientConnection: TCPStreamDelegate, HTTPParserDelegate {
    enum State { case open, closed }

    /// Strong and immutable: the compiler then uses it without reference counting (an `unowned(unsafe)` reference
    /// is retained and released around every use). No cycle outlives the connection: the gateway lets go of it
    /// when it closes.
    let gateway: Gateway
    let stream: TCPStream
    private let parser: HTTPParser
    private let relay: ExchangeRelay
    let clientAddress: String
    let clientIP: [UInt8]
    private(set) var state = State.open
    /// Index in the gateway's connection list.
    var slot = -1
    /// A rule the request head broke (found in the head callback, acted on once the parser returns).
    private var rejection: GatewayFailure?
    /// Bytes after the current request (pipelined), parsed once the exchange finishes; bounded.
    private var pipelined: [UInt8] = []
    static let pipelinedLimit = 64 * 1024
    private let timer: DeadlineTimer
    private var deadline = ClientDeadline()

    init(gateway: Gateway, stream: TCPStream) {
        self.gateway = gateway
        self.stream = stream
        let peer = stream.peerAddress
        clientAddress = peer?.description ?? "unknown"
        clientIP = Array((peer?.ip ?? "unknown").utf8)
        // Made before `self` exists and attached after, so they can be lets (see HTTPParser.init(kind:maxHeadBytes:)).
        parser = HTTPParser(kind: .request, maxHeadBytes: gateway.config.maxHeadBytes)
        relay = ExchangeRelay(gateway: gateway, stream: stream, clientAddress: clientAddress, clientIP: clientIP)
        timer = DeadlineTimer(loop: gateway.loop)
        parser.delegate = self
        relay.attach(to: self)
        timer.whenDue { [unowned self] in self.deadlinePassed() }
        stream.delegate = self
        stream.setNoDelay()
        stream.startReading()
        arm(.header)
    }

    var isIdle: Bool { !relay.isActive && !parser.isInMessage && pipelined.isEmpty }

    // MARK: Requests in

    func streamRead(_ stream: TCPStream, _ bytes: UnsafeRawBufferPointer) {
        guard !parser.isPaused else {
            // The current exchange is still running; keep what follows for later, within a bound.
            pipelined.append(contentsOf: bytes)
            if pipelined.count > ClientConnection.pipelinedLimit {
                if relay.isActive { relay.pause(.pipelineBacklog) } else { stream.stopReading() }
            }
            return
        }
        if deadline.phase == .idle { arm(.header) }
        feed(bytes)
    }

    /// Parses request bytes and acts on what they complete, then sends what was written on both sides.
    private func feed(_ bytes: UnsafeRawBufferPointer) {
        switch parser.execute(bytes) {
        case .consumed:
            break
        case .paused(let consumed):
            if consumed < bytes.count { pipelined.append(contentsOf: bytes[consumed...]) }
            relay.requestComplete()
            // kgb may have answered the request itself while it was parsed (no route): go on with the next.
            if !relay.isActive && state == .open { return nextRequest() }
        case .failed(let error):
            requestBroken(rejection ?? GatewayFailure(error.kind == .headTooLarge ? .headTooLarge : .badRequest,
                                                     "invalid request: \(error.reason)"))
        }
        relay.flushRequest()
    }

    func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict {
        if let failure = RequestRules.violation(head) {
            rejection = failure
            return .reject
        }
        disarm()
        relay.start(head)
        return .proceed
    }

    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) { relay.requestBody(bytes) }
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) { relay.requestChunkStarts(size: size) }
    func parserChunkComplete(_ parser: HTTPParser) { relay.requestChunkEnds() }
    /// Pauses: the next pipelined request waits until this exchange has finished.
    func parserMessageComplete(_ parser: HTTPParser) -> Bool { true }

    /// An exchange open for `age` nanoseconds or more lets its parsed heads go (see `HTTPParser.releaseHeadBuffers`):
    /// a held stream then keeps no head buffers.
    func releaseHeads(ifOlderThan age: UInt64, now: UInt64) {
        if relay.releaseResponseHead(ifOlderThan: age, now: now) { parser.releaseHeadBuffers() }
    }

    private func requestBroken(_ failure: GatewayFailure) {
        rejection = nil
        relay.requestBroken(failure, head: parser.head)
    }

    // MARK: After an exchange

    /// The relay finished an exchange: close, or go on with the next request (perhaps already read).
    func exchangeFinished(_ continuation: ExchangeMachine.Continuation) {
        switch continuation {
        case .closeNow: return close(flushingFirst: false)
        case .closeAfterFlush: return close(flushingFirst: true)
        case .nextRequest: break
        }
        arm(.idle)
        stream.startReading()
        // Ended while its request was still being parsed: `feed` goes on once the parser reaches the request's end.
        if parser.isPaused { nextRequest() }
    }

    /// The parser moves past the finished request, onto what is already pipelined behind it.
    private func nextRequest() {
        parser.resume()
        stream.startReading()
        guard !pipelined.isEmpty else { return }
        arm(.header)
        let replay = pipelined  // a copy: replaying may pipeline more behind it
        pipelined.removeAll(keepingCapacity: true)
        replay.withUnsafeBytes { feed($0) }
    }

    func streamEnded(_ stream: TCPStream, _ error: UVError?) {
        clientGone(error.map { "client connection failed: \($0.message)" } ?? "client closed the connection")
    }
    func streamWriteFailed(_ stream: TCPStream, _ error: UVError) { clientGone("writing to the client failed: \(error.message)") }
    func streamDrained(_ stream: TCPStream) { relay.clientDrained() }

    private func clientGone(_ why: String) {
        relay.clientGone(why)
        close(flushingFirst: false)
    }

    // MARK: Deadlines

    private func arm(_ phase: ClientDeadline.Phase) {
        deadline.set(phase)
        timer.expire(in: phase == .header ? gateway.config.headerTimeout : gateway.config.idleTimeout)
    }

    private func disarm() {
        deadline.clear()
        timer.clear()
    }

    private func deadlinePassed() {
        switch deadline.expired(requestStarted: parser.isInMessage || !pipelined.isEmpty, unreadBytes: { stream.unreadBytes }) {
        case .nothing: return
        case .close: close(flushingFirst: false)
        case .rearm: timer.expire(in: gateway.config.idleTimeout)
        case .headTimedOut:
            requestBroken(GatewayFailure(.headerTimeout, "request head not received within \(gateway.config.headerTimeout) ms"))
            relay.flushRequest()
        }
    }

    // MARK: Closing

    /// Closes an idle connection (drain); a busy one closes after its exchange (drain sets that).
    func closeWhenIdle() { if isIdle { close(flushingFirst: true) } }

    /// `flushingFirst`: what is queued still goes out, for as long as the client keeps reading it.
    func close(flushingFirst: Bool) {
        guard state == .open else { return }
        state = .closed
        gateway.remove(self)
        deadline.clear()
        timer.close()
        if flushingFirst { stream.closeWhenWritten(stallTimeout: ClientConnection.stallTimeout) } else { stream.close() }
    }

    /// How long a client that kgb is closing may read nothing of what is still queued for it.
    static let stallTimeout: UInt64 = 10_000

    /// Force-closes everything (the drain deadline passed).
    func abort() { clientGone("gateway shut down before the exchange finished") }
}
