// The listening socket and what all connections share: the defaults from the command line and the counter
// that numbers LLM responses (msg_mock_1, chatcmpl-mock-2, ...), so two runs give the same ids.
import TLS
import UV

/// Lives on the loop thread for the whole process.
final class MockServer {
    let loop: EventLoop
    let defaults: Defaults
    private var listener: TCPListener?
    private var responseNumber = 0
    /// Set: every connection speaks TLS (--tls-cert/--tls-key).
    let tls: TLSContext?

    init(loop: EventLoop, defaults: Defaults, tls: TLSContext? = nil) {
        self.loop = loop
        self.defaults = defaults
        self.tls = tls
    }

    /// Binds and starts accepting; returns the bound address (the real port when asked for port 0).
    func start(at address: SocketAddress) throws(UVError) -> SocketAddress {
        let listener = try TCPListener(loop: loop, address: address) { [unowned self] stream in
            guard let tls = self.tls else {
                Connection(server: self, stream: stream).start()
                return
            }
            do {
                Connection(server: self, stream: try TLSServerStream(tcp: stream, context: tls)).start()
            } catch {
                stream.close()
            }
        }
        self.listener = listener
        return listener.localAddress ?? address
    }

    func nextResponseNumber() -> Int {
        responseNumber += 1
        return responseNumber
    }
}
