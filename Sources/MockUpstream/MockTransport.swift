// What a mock connection writes to and reads from: the TCP stream itself, or TLS over it (--tls-cert/--tls-key).
import TLS
import UV

protocol MockTransport: AnyObject {
    var loop: EventLoop { get }
    var state: TCPStream.State { get }
    var isCongested: Bool { get }
    var isReading: Bool { get }
    /// SNI and ALPN of a TLS connection (nil over plain TCP), reported by /echo.
    var tlsDetails: (serverName: String?, alpn: String?)? { get }
    var delegate: (any TCPStreamDelegate)? { get set }
    func setWatermarks(high: Int, low: Int)
    func setNoDelay()
    func startReading()
    func stopReading()
    func write(borrowing bytes: UnsafeRawBufferPointer)
    func write(copying bytes: UnsafeRawBufferPointer)
    func flush()
    func closeWhenWritten()
    func close()
    func reset()
}

extension TCPStream: MockTransport {
    var tlsDetails: (serverName: String?, alpn: String?)? { nil }

    func setWatermarks(high: Int, low: Int) {
        highWatermark = high
        lowWatermark = low
    }
}

/// Server-side TLS over a TCP stream: decrypted bytes reach the delegate as reads; plaintext written is
/// gathered until `flush()` and leaves as TLS records. A failed handshake closes the connection.
final class TLSServerStream: MockTransport, TCPStreamDelegate {
    let tcp: TCPStream
    private let engine: TLSEngine
    private var plaintext: [UInt8] = []
    var delegate: (any TCPStreamDelegate)?

    init(tcp: TCPStream, context: TLSContext) throws(TLSError) {
        self.tcp = tcp
        engine = try TLSEngine(server: context)
        tcp.delegate = self
    }

    var loop: EventLoop { tcp.loop }
    var state: TCPStream.State { tcp.state }
    var isCongested: Bool { tcp.isCongested }
    var isReading: Bool { tcp.isReading }
    var tlsDetails: (serverName: String?, alpn: String?)? { (engine.serverName, engine.negotiatedProtocol) }
    func setWatermarks(high: Int, low: Int) { tcp.setWatermarks(high: high, low: low) }
    func setNoDelay() { tcp.setNoDelay() }
    func startReading() { tcp.startReading() }
    func stopReading() { tcp.stopReading() }
    func write(borrowing bytes: UnsafeRawBufferPointer) { plaintext.append(contentsOf: bytes) }
    func write(copying bytes: UnsafeRawBufferPointer) { plaintext.append(contentsOf: bytes) }

    func flush() {
        guard engine.isHandshakeComplete else { return }
        if engine.encrypt(&plaintext) != nil { tcp.close(); return }
        sendCiphertext()
    }

    private func sendCiphertext() {
        engine.takeCiphertext { ciphertext in
            tcp.write(borrowing: ciphertext)
            tcp.flush()
        }
    }

    func closeWhenWritten() {
        flush()
        engine.shutdown()
        sendCiphertext()
        tcp.closeWhenWritten()
    }

    func close() { tcp.close() }
    func reset() { tcp.reset() }

    // MARK: TCPStreamDelegate (the TCP side)

    func streamRead(_ stream: TCPStream, _ bytes: UnsafeRawBufferPointer) {
        engine.receive(bytes)
        if !engine.isHandshakeComplete {
            let progress = engine.handshake()
            sendCiphertext()
            switch progress {
            case .wantMore: return
            case .failed: tcp.close(); return
            case .done: break
            }
        }
        let buffer = tcp.loop.derivedBuffer
        while tcp.state == .open {
            switch engine.read(into: buffer) {
            case .bytes(let count): delegate?.streamRead(stream, UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            case .wantMore: sendCiphertext(); return
            case .closed: delegate?.streamEnded(stream, nil); return
            case .failed: tcp.close(); return
            }
        }
    }

    func streamEnded(_ stream: TCPStream, _ error: UVError?) { delegate?.streamEnded(stream, error) }
    func streamWriteFailed(_ stream: TCPStream, _ error: UVError) { delegate?.streamWriteFailed(stream, error) }
    func streamDrained(_ stream: TCPStream) { delegate?.streamDrained(stream) }
}
