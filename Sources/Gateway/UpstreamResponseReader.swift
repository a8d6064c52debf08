// Reading an upstream connection's responses: llhttp fed the plaintext as it arrives, each parsed piece (head,
// body fragment, chunk boundary) handed straight to the exchange's handler, and the end of a response reported to
// the connection, which decides what becomes of itself.
import HTTP1

/// Loop-owned, by its UpstreamConnection.
final class UpstreamResponseReader: HTTPParserDelegate {
    enum Ending: Equatable {
        case none
        /// The final response ended; `reusable`: the connection may carry another exchange.
        case complete(reusable: Bool)
        case failed(GatewayFailure)
    }

    private var parser: HTTPParser!
    /// The exchange the pieces go to; nil between exchanges.
    var handler: UpstreamResponseHandler?
    /// The final response's head arrived (the connection's deadline moves to the body).
    private let headArrived: () -> Void

    init(maxHeadBytes: Int, headArrived: @escaping () -> Void) {
        self.headArrived = headArrived
        parser = HTTPParser(kind: .response, delegate: self, maxHeadBytes: maxHeadBytes)
    }

    func read(_ bytes: UnsafeRawBufferPointer) -> Ending {
        switch parser.execute(bytes) {
        case .consumed:
            return .none
        case .paused(let consumed):
            parser.resume()
            // Bytes after the response's end mean the upstream is out of step: never reuse this connection.
            return .complete(reusable: consumed == bytes.count && parser.head.keepAlive)
        case .failed(let error):
            return .failed(GatewayFailure(.upstreamBroken, "invalid response from upstream: \(error.reason)"))
        }
    }

    /// The upstream closed its side cleanly: a close-delimited body ends here; anything else is cut short.
    func closed() -> Ending {
        if case .paused = parser.finish() { return .complete(reusable: false) }
        return .failed(GatewayFailure(.upstreamBroken, "upstream closed the connection before the response was complete"))
    }

    func parserHeadComplete(_ parser: HTTPParser) -> HeadVerdict {
        headArrived()
        return handler?.responseHead(parser.head) ?? .reject
    }
    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) { handler?.responseBody(bytes) }
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) { handler?.responseChunkStarts(size: size) }
    func parserChunkComplete(_ parser: HTTPParser) { handler?.responseChunkEnds() }
    /// Pauses at the end of a final response; an interim (1xx) one is not the end of the exchange.
    func parserMessageComplete(_ parser: HTTPParser) -> Bool { !(100..<200).contains(parser.head.status) }
}
