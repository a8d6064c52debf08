// One exchange's progress, as a value: each event (response head, completion, failure, a side congested or
// drained, the log full or free) goes in, and what to do comes out. It holds no socket, buffer or timer, so it can
// be driven through every phase in a unit test; ClientConnection carries its answers out.
import HTTP1

struct ExchangeMachine {
    enum RequestState: Equatable {
        /// The body is arriving. `inLastChunk`: the size-0 chunk has been parsed (its CRLF is part of the
        /// terminator kgb writes itself).
        case receiving(inLastChunk: Bool)
        case received
    }

    enum ResponseState: Equatable {
        /// Connecting, sending, or waiting for the final head; nothing has reached the client yet.
        case awaitingHead
        /// The head went to the client. `relayChunks`: the upstream's body is chunked and its chunks are kept.
        case streaming(framing: BodyFraming, relayChunks: Bool, inLastChunk: Bool)
        case complete
    }

    /// Why reading one side is stopped. Reading resumes when the last reason is gone.
    struct Pauses: OptionSet {
        let rawValue: UInt8
        // Reading the client stops while...
        /// request bytes pile up towards the upstream;
        static let upstreamCongested = Pauses(rawValue: 1 << 0)
        /// the log ring could not take a request body fragment;
        static let requestLogFull = Pauses(rawValue: 1 << 1)
        /// pipelined requests behind this one pass their bound.
        static let pipelineBacklog = Pauses(rawValue: 1 << 2)
        // Reading the upstream stops while...
        /// response bytes pile up towards the client;
        static let clientCongested = Pauses(rawValue: 1 << 3)
        /// the log ring could not take a response body fragment.
        static let responseLogFull = Pauses(rawValue: 1 << 4)

        static let clientSide: Pauses = [.upstreamCongested, .requestLogFull, .pipelineBacklog]
        static let upstreamSide: Pauses = [.clientCongested, .responseLogFull]
    }

    enum Side { case client, upstream }

    /// Which agent sent the request (with `--agents`).
    enum AgentState: Equatable {
        case anonymous
        /// Its key is known but the request was refused.
        case identified(Int)
        /// Admitted: it counts in the agent's in-flight requests until the exchange ends.
        case admitted(Int)

        var index: Int? {
            switch self {
            case .anonymous: nil
            case .identified(let index), .admitted(let index): index
            }
        }
    }

    let id: UInt64
    let requestFraming: BodyFraming
    let isHeadRequest: Bool
    let clientIsHTTP10: Bool
    private(set) var request: RequestState
    private(set) var response = ResponseState.awaitingHead
    /// The client connection closes after this exchange (the client asked, the framing requires it, drain).
    private(set) var closesConnection: Bool
    private(set) var pauses: Pauses = []
    var timing = ExchangeTiming()
    /// For metrics: the route's index (configuration order; the route count for "none") and the final status
    /// the client got (0: none).
    var routeIndex = 0
    private(set) var status = 0
    var agent = AgentState.anonymous
    /// Which of the route's upstreams is being tried (failover moves it on).
    var attempt = 0
    /// An interim (1xx) head went to the client: its bytes are out, so the exchange can no longer fail over.
    private(set) var interimRelayed = false

    init(id: UInt64, requestFraming: BodyFraming, isHeadRequest: Bool, clientIsHTTP10: Bool, closesConnection: Bool) {
        self.id = id
        self.requestFraming = requestFraming
        self.isHeadRequest = isHeadRequest
        self.clientIsHTTP10 = clientIsHTTP10
        self.closesConnection = closesConnection
        request = requestFraming == .none ? .received : .receiving(inLastChunk: false)
    }

    var hasResponseStarted: Bool { response != .awaitingHead }
    var isRequestReceived: Bool { request == .received }

    // MARK: Request side

    /// A request chunk of `size` bytes starts; false for the last chunk, whose framing kgb writes at the end.
    mutating func requestChunkStarts(size: UInt64) -> Bool {
        guard size == 0 else { return true }
        request = .receiving(inLastChunk: true)
        return false
    }

    /// Whether a request chunk's CRLF is written now (not for the last chunk).
    var requestChunkEndIsWritten: Bool { request != .receiving(inLastChunk: true) }

    mutating func requestReceived() { request = .received }

    // MARK: Response head

    enum HeadAction: Equatable {
        /// The upstream switched protocols: kgb never forwards Upgrade, so this is an error.
        case reject
        /// An interim (1xx) response: relayed to an HTTP/1.1 client, dropped for HTTP/1.0 (RFC 9110 §15.2).
        case interim(relay: Bool)
        /// The final head: written with this framing and connection handling; `skipBody` for HEAD.
        case final(framing: BodyFraming, close: Bool, skipBody: Bool)
    }

    mutating func responseHead(status: Int, contentLength: UInt64?, isChunked: Bool, draining: Bool) -> HeadAction {
        if status == 101 { return .reject }
        if status < 200 {
            if !clientIsHTTP10 { interimRelayed = true }
            return .interim(relay: !clientIsHTTP10)
        }
        self.status = status
        let framing: BodyFraming
        var relayChunks = false
        if isHeadRequest || status == 204 || status == 304 {
            // No body follows; a HEAD or 304 response still states the length the body would have.
            framing = status == 204 ? .none : contentLength.map { .contentLength($0) } ?? .none
        } else if let contentLength {
            framing = .contentLength(contentLength)
        } else if clientIsHTTP10 {
            framing = .untilClose  // no chunked coding towards HTTP/1.0 (RFC 9112 §7.1)
        } else {
            framing = .chunked
            relayChunks = isChunked
        }
        // A response that ends before the request has been read leaves the request's framing behind us.
        if !isRequestReceived || framing == .untilClose || draining { closesConnection = true }
        response = .streaming(framing: framing, relayChunks: relayChunks, inLastChunk: false)
        return .final(framing: framing, close: closesConnection, skipBody: isHeadRequest)
    }

    // MARK: Failover

    /// Answers that say "try elsewhere": rate limited, or the upstream (or one in front of it) failing or overloaded.
    static let failoverStatuses: Set<Int> = [429, 500, 502, 503, 529]
    /// Failures that leave the request unsent: the upstream could not be resolved, connected or TLS-handshaken.
    static let failoverCauses: Set<GatewayFailure.Cause> = [.upstreamUnreachable, .connectTimeout]

    /// Nothing of the answer has reached the client: another upstream may still give it.
    var mayFailOver: Bool { response == .awaitingHead && !interimRelayed }

    // MARK: Response body

    enum BodyWrite: Equatable {
        /// As read: the upstream's own framing is relayed (Content-Length, or chunks written from chunk events).
        case asIs
        /// As one chunk of its own (a close-delimited upstream body towards an HTTP/1.1 client).
        case asChunk
    }

    var bodyWrite: BodyWrite {
        if case .streaming(.chunked, relayChunks: false, _) = response { return .asChunk }
        return .asIs
    }

    /// An upstream chunk of `size` starts: true when its size line is written to the client now.
    mutating func responseChunkStarts(size: UInt64) -> Bool {
        guard case .streaming(let framing, true, _) = response else { return false }
        guard size > 0 else {
            response = .streaming(framing: framing, relayChunks: true, inLastChunk: true)
            return false
        }
        return true
    }

    /// Whether an upstream chunk's CRLF is written now (relayed chunks, not the last one).
    var responseChunkEndIsWritten: Bool {
        if case .streaming(_, true, false) = response { return true }
        return false
    }

    // MARK: The end

    enum Completion: Equatable {
        /// Terminate the body (`lastChunk`: write the chunked terminator) and finish; the upstream connection
        /// goes back to the pool when `reuseUpstream`.
        case finish(lastChunk: Bool, reuseUpstream: Bool)
        /// The upstream's message ended with no final head (only interim ones).
        case fail(GatewayFailure)
    }

    mutating func responseComplete(upstreamReusable: Bool) -> Completion {
        guard case .streaming(let framing, _, _) = response else {
            return .fail(GatewayFailure(.upstreamBroken, "upstream response ended without a final status"))
        }
        response = .complete
        if !isRequestReceived { closesConnection = true }
        return .finish(lastChunk: framing == .chunked, reuseUpstream: upstreamReusable && isRequestReceived)
    }

    enum FailureAction: Equatable {
        /// Nothing reached the client yet: answer with the error (and close when `close`).
        case answer(status: Int, close: Bool)
        /// Mid-response: close with no terminator, so the client sees a truncated stream.
        case cut
    }

    mutating func failed(_ failure: GatewayFailure) -> FailureAction {
        closesConnection = closesConnection || hasResponseStarted || !isRequestReceived
        if hasResponseStarted { return .cut }
        // The request may not have been read to its end; only a fully read one leaves the connection usable.
        status = failure.status
        return .answer(status: failure.status, close: closesConnection)
    }

    enum Continuation: Equatable {
        /// Keep-alive: on to the next request (perhaps already read).
        case nextRequest
        /// Send what is queued, then close.
        case closeAfterFlush
        /// Close now (the client is gone).
        case closeNow
    }

    /// How the client connection goes on once this exchange has ended.
    func continuation(clientGone: Bool, draining: Bool) -> Continuation {
        if clientGone { return .closeNow }
        return closesConnection || draining ? .closeAfterFlush : .nextRequest
    }

    /// The request itself broke the protocol: its framing can no longer be trusted.
    mutating func requestBroken() { closesConnection = true }

    mutating func drainStarted() { closesConnection = true }

    // MARK: Pauses

    /// Adds a reason to stop reading a side; returns the side when it was being read until now (stop it).
    mutating func pause(_ reason: Pauses) -> Side? {
        let (side, sidePauses) = Self.side(of: reason)
        let wasReading = pauses.isDisjoint(with: sidePauses)
        pauses.insert(reason)
        return wasReading ? side : nil
    }

    /// Removes a reason; returns the side when no reason to stop it is left (start reading it again).
    mutating func resume(_ reason: Pauses) -> Side? {
        guard pauses.contains(reason) else { return nil }
        pauses.remove(reason)
        let (side, sidePauses) = Self.side(of: reason)
        return pauses.isDisjoint(with: sidePauses) ? side : nil
    }

    /// The side a reason stops reading, and every reason that stops that side.
    private static func side(of reason: Pauses) -> (Side, Pauses) {
        Pauses.clientSide.contains(reason) ? (.client, Pauses.clientSide) : (.upstream, Pauses.upstreamSide)
    }

    func isPaused(_ reason: Pauses) -> Bool { pauses.contains(reason) }
}
