// One exchange carried out: the request forwarded to an upstream connection as the client connection parses it,
// the response written to the client as the upstream connection hands it over, the log told of each piece, and
// one ending, whatever happens. What each event means is ExchangeMachine's to say; this type does the I/O.
import HTTP1
import UV

/// Loop-owned, one per client connection, reused for each of its exchanges (`machine` is nil between them).
final class ExchangeRelay: UpstreamResponseHandler, LogRoomWaiter {
    /// The client connection owns the relay and outlives it. Unmanaged: an `unowned(unsafe)` reference is retained
    /// and released around every use; its address and IP are kept here, as strong lets, for the same reason.
    private var client: Unmanaged<ClientConnection>?
    private let clientAddress: String
    private let clientIP: [UInt8]
    private let gateway: Gateway  // strong: see ClientConnection.gateway
    /// The gateway's, held here too: an object reached through two references is retained around each use, one
    /// reached through a strong let is not.
    private let observer: any ExchangeObserver
    private let metrics: GatewayMetrics
    private let loop: EventLoop
    private let stream: TCPStream
    private(set) var machine: ExchangeMachine?
    private var upstream: UpstreamConnection?
    private var requestOptions = ConnectionOptions()
    private var responseOptions = ConnectionOptions()
    /// Whether the client takes its answer while the upstream is held back for it (see `upstreamHeldBack`).
    private var clientProgress = ReadProgress()
    /// The exchange's route, and for failover the request as sent so far and when the current attempt began.
    private var route: Route?
    private var replay: RequestReplay
    private var attemptStarted: UInt64 = 0

    init(gateway: Gateway, stream: TCPStream, clientAddress: String, clientIP: [UInt8]) {
        self.clientAddress = clientAddress
        self.clientIP = clientIP
        self.gateway = gateway
        observer = gateway.observer
        metrics = gateway.metrics
        loop = gateway.loop
        self.stream = stream
        replay = RequestReplay(limit: gateway.config.retryBodyMax)
    }

    /// Once, by the client connection that owns the relay, as soon as it exists.
    func attach(to client: ClientConnection) { self.client = .passUnretained(client) }

    var isActive: Bool { machine != nil }

    /// An exchange that has gone on for `age` nanoseconds or more lets the upstream's parsed head go once it is being
    /// relayed (it is not read again before the next message), and answers true: the client's request head may go
    /// too. Exchanges that end sooner keep theirs for the next request.
    func releaseResponseHead(ifOlderThan age: UInt64, now: UInt64) -> Bool {
        guard let machine, now &- machine.timing.started >= age else { return false }
        if machine.timing.responseHead != 0 { upstream?.releaseResponseHead() }
        return true
    }

    // MARK: The request

    /// A request head arrived (and kept the protocol's rules): its agent checked (with `--agents`), routed, then
    /// forwarded or answered.
    func start(_ head: HTTPHead) {
        let target = RequestRules.originFormTarget(head)
        var route = head.withBytes(target) { gateway.routes.match($0) }
        var agent = ExchangeMachine.AgentState.anonymous
        var refusal: GatewayFailure?
        if let registry = gateway.config.agents, let keys = gateway.agentKeys {
            // The loop's cached clock (monotonic, ms) is precise enough for per-minute buckets.
            switch AgentGate.check(head, path: target, registry: registry, keys: keys, now: gateway.loop.now &* 1_000_000) {
            case .admitted(let index):
                agent = .admitted(index)
            case .refused(let failure, let index):
                agent = index.map { .identified($0) } ?? .anonymous
                refusal = failure
                route = nil  // a refused request never reaches an upstream
            }
        }
        begin(head, route: route)
        machine!.agent = agent
        if let refusal { return fail(refusal, outcome: .rejected, recordingTheAnswer: true) }
        guard let route else {
            return noRoute(GatewayFailure(.noRoute, "no route for path \(String(decoding: head.bytes[target], as: UTF8.self))"))
        }
        forward(head, target: target, route: route)
        // The body is streamed upstream as it comes, so kgb asks for it at once (RFC 9110 §10.1.1).
        if RequestRules.expectsContinue(head) { stream.write(copying: RequestRules.continueLine.bytes) }
    }

    /// A new exchange, recorded from its first moment.
    private func begin(_ head: HTTPHead, route: Route?) {
        var machine = ExchangeMachine(id: gateway.nextExchangeID(), requestFraming: RequestRules.bodyFraming(head),
                                      isHeadRequest: head.method == .head, clientIsHTTP10: !head.isHTTP11OrLater,
                                      closesConnection: !head.keepAlive || gateway.isDraining)
        machine.timing.started = loop.eventTime
        machine.routeIndex = route?.index ?? gateway.routes.noneIndex
        observer.exchangeStarted(machine.id, client: clientAddress, upstream: route?.upstreams[0].upstreamLabel ?? [],
                                         request: head)
        self.machine = machine
    }

    /// Sends the request to the route's first upstream; with more than one, keeps it for failover.
    private func forward(_ head: HTTPHead, target: Range<Int>, route: Route) {
        self.route = route
        if route.upstreams.count > 1 { replay.start(head, target: target) }
        requestOptions.collect(from: head)
        open(route.upstreams[0], head: head, target: target)
    }

    /// Takes a connection to `upstream` (pooled, or connecting from now) and writes the request head to it.
    private func open(_ upstream: RouteUpstream, head: HTTPHead, target: Range<Int>) {
        guard let machine else { return }
        let connection = upstream.pool.acquire(for: self)
        self.upstream = connection
        attemptStarted = loop.eventTime
        gateway.headOut.clear()
        upstream.writeRequestHead(head, target: target, connectionOptions: requestOptions, clientIP: clientIP,
                                  framing: machine.requestFraming, into: &gateway.headOut)
        connection.send(copying: gateway.headOut.bytes)
    }

    func requestBody(_ bytes: UnsafeRawBufferPointer) {
        guard upstream != nil, let id = machine?.id else { return }
        send(borrowing: bytes)
        machine!.timing.requestBodyBytes &+= UInt64(bytes.count)
        if !observer.requestBody(id, bytes) { logRefused(.requestLogFull) }
    }

    func requestChunkStarts(size: UInt64) {
        guard upstream != nil, machine?.requestChunkStarts(size: size) == true else { return }
        writeChunkSizeLine(size) { send(copying: $0) }
    }

    func requestChunkEnds() {
        guard upstream != nil, machine?.requestChunkEndIsWritten == true else { return }
        send(copying: ChunkFraming.chunkEnd.bytes)
    }

    func requestComplete() {
        guard machine != nil else { return }
        if machine!.requestFraming == .chunked && upstream != nil { send(copying: ChunkFraming.lastChunk.bytes) }
        machine!.requestReceived()
    }

    /// Request body bytes (framed) towards the upstream, and into the replay when failover may need them.
    private func send(borrowing bytes: UnsafeRawBufferPointer) {
        upstream?.send(borrowing: bytes)
        replay.append(bytes)
    }

    private func send(copying bytes: UnsafeRawBufferPointer) {
        upstream?.send(copying: bytes)
        replay.append(bytes)
    }

    /// The request broke the protocol: answered with the error before a response head, cut after; either way the
    /// connection closes (its framing can no longer be trusted).
    func requestBroken(_ failure: GatewayFailure, head: HTTPHead) {
        if machine == nil { begin(head, route: nil) }  // every exchange produces one record
        machine!.requestBroken()
        upstream?.abort()
        upstream = nil
        fail(failure, outcome: .rejected, recordingTheAnswer: true)
    }

    private func noRoute(_ failure: GatewayFailure) { fail(failure, outcome: .rejected) }

    /// Sends what was written towards the upstream and the client in this turn.
    func flushRequest() {
        upstream?.flush()
        upstreamReadDone()
        if let upstream, upstream.isCongested { pause(.upstreamCongested) }
    }

    // MARK: The response (UpstreamResponseHandler)

    func upstreamReady(_ connection: UpstreamConnection) {
        machine?.timing.upstreamConnected = EventLoop.hrtime()
        machine?.timing.upstreamTLSHandshake = connection.tlsHandshakeNanos
        machine?.timing.upstreamTLSResumed = connection.tlsResumed
    }

    func responseHead(_ head: HTTPHead) -> HeadVerdict {
        guard machine != nil else { return .reject }
        if ExchangeMachine.failoverStatuses.contains(head.status), let next = nextUpstream() {
            failOver(to: next, status: head.status, error: nil)
            return .reject  // the old connection (closed now) reads no further
        }
        let action = machine!.responseHead(status: head.status, contentLength: head.contentLength,
                                           isChunked: head.isChunked, draining: gateway.isDraining)
        responseOptions.collect(from: head)
        gateway.headOut.clear()
        switch action {
        case .reject:
            return .reject
        case .interim(let relay):
            guard relay else { return .proceed }
            HeadWriter.clientResponse(head, connectionOptions: responseOptions, framing: .none, close: false,
                                      clientIsHTTP10: false, into: &gateway.headOut)
            stream.write(copying: gateway.headOut.bytes)
            return .proceed
        case .final(let framing, let close, let skipBody):
            replay.release()
            machine!.timing.responseHead = loop.eventTime
            HeadWriter.clientResponse(head, connectionOptions: responseOptions, framing: framing, close: close,
                                      clientIsHTTP10: machine!.clientIsHTTP10, into: &gateway.headOut)
            stream.write(copying: gateway.headOut.bytes)
            observer.responseHead(machine!.id, head)
            return skipBody ? .skipBody : .proceed
        }
    }

    func responseBody(_ bytes: UnsafeRawBufferPointer) {
        // Per fragment: the machine is read and written in place (no copy, no reference counting).
        guard machine != nil else { return }
        if machine!.timing.firstBodyByte == 0 { machine!.timing.firstBodyByte = loop.eventTime }
        machine!.timing.responseBodyBytes &+= UInt64(bytes.count)
        if machine!.bodyWrite == .asChunk {
            writeChunkSizeLine(UInt64(bytes.count)) { stream.write(copying: $0) }
            stream.write(borrowing: bytes)
            stream.write(copying: ChunkFraming.chunkEnd.bytes)
        } else {
            stream.write(borrowing: bytes)
        }
        if !observer.responseBody(machine!.id, bytes) { logRefused(.responseLogFull) }
    }

    func responseChunkStarts(size: UInt64) {
        guard machine?.responseChunkStarts(size: size) == true else { return }
        writeChunkSizeLine(size) { stream.write(copying: $0) }
    }

    func responseChunkEnds() {
        if machine?.responseChunkEndIsWritten == true { stream.write(copying: ChunkFraming.chunkEnd.bytes) }
    }

    func responseComplete(reusable: Bool) {
        guard machine != nil else { return }
        switch machine!.responseComplete(upstreamReusable: reusable) {
        case .fail(let failure):
            upstreamFailed(failure)
        case .finish(let lastChunk, let reuseUpstream):
            if lastChunk { stream.write(copying: ChunkFraming.lastChunk.bytes) }
            finish(.complete, error: nil, reuseUpstream: reuseUpstream)
        }
    }

    func upstreamFailed(_ failure: GatewayFailure) {
        guard machine != nil else { return }
        if ExchangeMachine.failoverCauses.contains(failure.cause), let next = nextUpstream() {
            return failOver(to: next, status: 0, error: failure.message)
        }
        upstream?.close()
        upstream = nil
        fail(failure, outcome: failure.outcome)
    }

    func upstreamDrained() { resume(.upstreamCongested) }

    func upstreamReadDone() {
        stream.flush()
        if stream.isCongested, upstream != nil { pause(.clientCongested) }
    }

    func clientDrained() { resume(.clientCongested) }

    private func writeChunkSizeLine(_ size: UInt64, _ send: (UnsafeRawBufferPointer) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: 20, alignment: 1) { line in
            send(UnsafeRawBufferPointer(rebasing: line[0..<ChunkFraming.sizeLine(size, into: line)]))
        }
    }

    // MARK: Failover

    /// The route's next upstream, when the exchange may still move to it: nothing has reached the client, and the
    /// whole request so far is kept.
    private func nextUpstream() -> RouteUpstream? {
        guard let route, let machine, machine.mayFailOver, replay.canReplay, machine.attempt + 1 < route.upstreams.count else {
            return nil
        }
        return route.upstreams[machine.attempt + 1]
    }

    /// Leaves the current upstream (its answer or failure is recorded as an attempt) and sends the request again to
    /// `next`: the head rewritten for it, then every body byte kept.
    private func failOver(to next: RouteUpstream, status: Int, error: String?) {
        guard let route, case .keeping(let head, let target, let body) = replay.state else { return }
        let now = loop.eventTime
        observer.attemptFailed(machine!.id, FailedAttempt(upstream: route.upstreams[machine!.attempt].upstreamLabel,
                                                                  status: status, error: error, nanos: now &- attemptStarted))
        metrics.totals.add(GatewayMetrics.Total.failovers.rawValue)
        upstream?.close()
        upstream = nil
        machine!.attempt += 1
        open(next, head: head, target: target)
        body.withUnsafeBytes { upstream?.send(copying: $0) }
        if machine!.isPaused(.clientCongested) || machine!.isPaused(.responseLogFull) { upstream?.pauseReading() }
        resume(.upstreamCongested)  // that was the old connection's congestion
        flushRequest()
    }

    // MARK: The end

    /// `recordingTheAnswer`: a request kgb refused (malformed, or its agent refused) never reached a route; its record shows the answer
    /// kgb gave instead of an upstream's.
    private func fail(_ failure: GatewayFailure, outcome: Outcome, recordingTheAnswer: Bool = false) {
        guard machine != nil else { return }
        if case .answer(_, let close) = machine!.failed(failure) {
            let answer = failure.response(close: close)
            stream.write(copying: answer)
            stream.flush()  // a failure can come from a timer or a connect callback, outside any read
            if recordingTheAnswer { recordLocalAnswer(answer) }
        }
        finish(outcome, error: failure.message, reuseUpstream: false)
    }

    private func recordLocalAnswer(_ answer: [UInt8]) {
        guard let id = machine?.id, let (head, body) = LocalAnswer.parse(answer) else { return }
        observer.responseHead(id, head)
        _ = body.withUnsafeBytes { observer.responseBody(id, $0) }
    }

    /// The client went away, or kgb gave up on it: the upstream request is cancelled at once (a reset).
    func clientGone(_ why: String) {
        guard machine != nil else { return }
        upstream?.abort()
        upstream = nil
        finish(.clientAborted, error: why, reuseUpstream: false, clientGone: true)
    }

    /// The single exit of every exchange: releases or closes the upstream, emits the end record, and hands the
    /// connection back to the client side (closing it, or on to the next request).
    private func finish(_ outcome: Outcome, error: String?, reuseUpstream: Bool, clientGone: Bool = false) {
        guard var machine else { return }
        self.machine = nil
        if let upstream = upstream.take() { if reuseUpstream { upstream.returnToPool() } else { upstream.close() } }
        replay.release()
        let answeredBy = machine.attempt > 0 ? route?.upstreams[machine.attempt].upstreamLabel : nil
        route = nil
        // A fresh clock read, not the read's time: an exchange kgb answers itself (no route, a refusal) ends in the
        // read that started it, and its duration must not come out as 0, which records "never reached".
        machine.timing.ended = EventLoop.hrtime()
        if case .admitted(let agent) = machine.agent { gateway.config.agents?.usage.exchangeEnded(agent) }
        observer.exchangeEnded(machine.id, ExchangeEnd(outcome: outcome, error: error, timing: machine.timing,
                                                               agent: machine.agent.index, upstream: answeredBy))
        metrics.exchangeEnded(route: machine.routeIndex, status: machine.status, outcome: outcome, timing: machine.timing)
        // What this exchange wrote leaves now: the next request's writes may reuse the buffers it borrowed.
        if !clientGone { stream.flush() }
        // The client connection may drop its last reference while it goes on (it closes): keep it for the call.
        let client = self.client!.takeUnretainedValue()
        withExtendedLifetime(client) { client.exchangeFinished(machine.continuation(clientGone: clientGone, draining: gateway.isDraining)) }
    }

    // MARK: Pauses (the reasons are the machine's; stopping and starting the reads is done here)

    func pause(_ reason: ExchangeMachine.Pauses) {
        if reason == .clientCongested && machine?.isPaused(.clientCongested) == false { clientProgress = ReadProgress() }
        switch machine?.pause(reason) {
        case .client?: stream.stopReading()
        case .upstream?: upstream?.pauseReading()
        case nil: break
        }
    }

    /// The upstream has been held back for a whole upstream timeout. A client that took nothing of its answer in
    /// that time (and the one before) is treated as gone, as nginx's send_timeout does; one still reading, or a full
    /// log, waits on. Returns whether the exchange goes on.
    func upstreamHeldBack(for milliseconds: UInt64) -> Bool {
        guard machine?.isPaused(.clientCongested) == true else { return machine != nil }
        if clientProgress.isReading(unread: stream.unreadBytes) { return true }
        clientGone("client read nothing of its answer for \(milliseconds) ms")
        return false
    }

    private func resume(_ reason: ExchangeMachine.Pauses) {
        switch machine?.resume(reason) {
        case .client?: stream.startReading()
        case .upstream?: upstream?.resumeReading()
        case nil: break
        }
    }

    private func logRefused(_ reason: ExchangeMachine.Pauses) {
        guard machine?.isPaused(reason) == false else { return }
        pause(reason)
        observer.notifyWhenRoom(self)
    }

    func logHasRoom() {
        resume(.requestLogFull)
        resume(.responseLogFull)
    }
}
