// Opening one upstream connection, in its phases: each resolved address in turn → TCP → a CONNECT tunnel through
// the forward proxy (HTTPS through a proxy) → the TLS handshake (HTTPS). It reports exactly once, on a later loop
// turn than the call that started it: ready (the stream, and the TLS session if any) or failed (why, for a 502).
import HTTP1
import TLS
import UV

protocol UpstreamConnectorDelegate: AnyObject {
    func connectorReady(_ stream: TCPStream, tls: TLSEngine?, handshakeNanos: UInt64)
    func connectorFailed(_ failure: GatewayFailure)
}

/// Loop-owned; the owning UpstreamConnection keeps it until it reports, and tells it when the connect deadline
/// passes (the connection's one timer serves every phase).
final class UpstreamConnector: TCPStreamDelegate, HTTPParserDelegate {
    enum Phase { case connecting, tunneling, handshaking, finished }

    private unowned(unsafe) let delegate: UpstreamConnectorDelegate
    private let pool: UpstreamPool
    private var endpoint: UpstreamEndpoint { pool.endpoint }
    private(set) var phase = Phase.connecting
    private var addresses: [SocketAddress]
    private var addressIndex = 0
    private var stream: TCPStream?
    private var tls: TLSEngine?
    private var handshakeStarted: UInt64 = 0
    /// Reads the proxy's answer to CONNECT.
    private var proxyParser: HTTPParser?
    private var proxyStatus = 0

    init(addresses: [SocketAddress], pool: UpstreamPool, delegate: UpstreamConnectorDelegate) {
        self.addresses = addresses
        self.pool = pool
        self.delegate = delegate
        connectNext()
    }

    private func connectNext() {
        let stream = TCPStream(loop: pool.loop)
        stream.delegate = self
        self.stream = stream
        stream.connect(to: addresses[addressIndex])
    }

    func streamConnected(_ stream: TCPStream, _ error: UVError?) {
        guard phase == .connecting, stream === self.stream else { return }
        if let error {
            stream.close()
            addressIndex += 1
            guard addressIndex < addresses.count else {
                return fail(.upstreamUnreachable, "cannot connect to \(endpoint.connectTarget) (\(addresses[addressIndex - 1])): \(error.message)")
            }
            return connectNext()
        }
        stream.setNoDelay()
        stream.startReading()
        guard endpoint.tunnels else { return startTLSOrFinish() }
        phase = .tunneling
        proxyParser = HTTPParser(kind: .response, delegate: self, maxHeadBytes: pool.config.maxHeadBytes)
        endpoint.connectRequest.withUnsafeBytes { stream.write(borrowing: $0) }
        stream.flush()
    }

    // MARK: The forward proxy's answer to CONNECT

    func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict {
        proxyStatus = head.status
        return .skipBody  // a successful answer has no body; a refusal's body is of no use to us
    }
    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) {}
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) {}
    func parserChunkComplete(_ parser: HTTPParser) {}
    func parserMessageComplete(_ parser: HTTPParser) -> Bool { true }

    private func readProxyAnswer(_ bytes: UnsafeRawBufferPointer) {
        guard let parser = proxyParser, let proxy = endpoint.proxy else { return }
        let target = endpoint.origin.authority
        switch parser.execute(bytes) {
        case .consumed:
            return
        case .failed(let error):
            fail(.upstreamUnreachable, "invalid answer to CONNECT from forward proxy \(proxy): \(error.reason)")
        case .paused(let consumed):
            let reason = String(decoding: parser.head.bytes[parser.head.target], as: UTF8.self)
            proxyParser = nil
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

    // MARK: TLS

    private func startTLSOrFinish() {
        guard endpoint.usesTLS else { return finish() }
        do {
            tls = try TLSEngine(client: pool.config.tlsContext!, host: endpoint.origin.host, sessionCache: pool.tlsSessions)
        } catch {
            return fail(.upstreamUnreachable, "cannot start TLS with upstream \(endpoint.origin.authority): \(error.message)")
        }
        phase = .handshaking
        handshakeStarted = EventLoop.hrtime()
        continueHandshake()
    }

    private func continueHandshake() {
        guard let tls, let stream else { return }
        let progress = tls.handshake()
        tls.takeCiphertext { ciphertext in
            stream.write(borrowing: ciphertext)
            stream.flush()
        }
        switch progress {
        case .wantMore: return
        case .done: finish()
        case .failed(let why): fail(.upstreamUnreachable, "TLS handshake with upstream \(endpoint.origin.authority) failed: \(why)")
        }
    }

    // MARK: Reading and ending

    func streamRead(_ stream: TCPStream, _ bytes: UnsafeRawBufferPointer) {
        switch phase {
        case .tunneling: readProxyAnswer(bytes)
        case .handshaking:
            tls?.receive(bytes)
            continueHandshake()
        case .connecting, .finished: break
        }
    }

    func streamEnded(_ stream: TCPStream, _ error: UVError?) {
        let detail = error.map { ": \($0.message)" } ?? ""
        switch phase {
        case .tunneling: fail(.upstreamUnreachable, "forward proxy \(endpoint.proxy!) closed the connection before answering CONNECT" + detail)
        case .handshaking: fail(.upstreamUnreachable, "upstream \(endpoint.origin.authority) closed the connection during the TLS handshake" + detail)
        case .connecting, .finished: break
        }
    }

    func streamWriteFailed(_ stream: TCPStream, _ error: UVError) {
        fail(.upstreamUnreachable, "sending to \(endpoint.connectTarget) failed: \(error.message)")
    }

    func streamDrained(_ stream: TCPStream) {}

    /// The connect deadline passed (it covers every phase).
    func timedOut(after limit: UInt64) {
        switch phase {
        case .tunneling: fail(.upstreamUnreachable, "forward proxy \(endpoint.proxy!) did not answer CONNECT within \(limit) ms")
        case .handshaking: fail(.upstreamUnreachable, "TLS handshake with upstream \(endpoint.origin.authority) did not finish within \(limit) ms")
        case .connecting: fail(.connectTimeout, "connecting to \(endpoint.connectTarget) timed out after \(limit) ms")
        case .finished: break
        }
    }

    private func finish() {
        guard phase != .finished, let stream else { return }
        phase = .finished
        let handshake = tls == nil ? 0 : EventLoop.hrtime() - handshakeStarted
        delegate.connectorReady(stream, tls: tls, handshakeNanos: handshake)
    }

    private func fail(_ cause: GatewayFailure.Cause, _ message: String) {
        guard phase != .finished else { return }
        phase = .finished
        stream?.close()
        stream = nil
        delegate.connectorFailed(GatewayFailure(cause, message))
    }

    /// Gives up without reporting (the exchange no longer wants the connection); `reset`: with a TCP reset.
    func cancel(reset: Bool) {
        guard phase != .finished else { return }
        phase = .finished
        if reset { stream?.reset() } else { stream?.close() }
        stream = nil
    }
}
