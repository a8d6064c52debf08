// The exchange state machine through every phase and failure, without a socket.
@testable import Gateway
import HTTP1
import Testing

private func machine(_ framing: BodyFraming = .none, head: Bool = false, http10: Bool = false, close: Bool = false) -> ExchangeMachine {
    ExchangeMachine(id: 1, requestFraming: framing, isHeadRequest: head, clientIsHTTP10: http10, closesConnection: close)
}

private let broken = GatewayFailure(.upstreamBroken, "upstream went away")

/// For results of mutating calls, which #expect cannot make inside its expression.
private func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ comment: Comment? = nil,
                                       sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual == expected, comment, sourceLocation: sourceLocation)
}

@Test func aKeepAliveExchangeWithALengthRelaysAndReusesBoth() {
    var exchange = machine()
    #expect(exchange.isRequestReceived, "no body: the request is whole once its head is")
    expectEqual(exchange.responseHead(status: 200, contentLength: 5, isChunked: false, draining: false), .final(framing: .contentLength(5), close: false, skipBody: false))
    #expect(exchange.bodyWrite == .asIs)
    expectEqual(exchange.responseComplete(upstreamReusable: true), .finish(lastChunk: false, reuseUpstream: true))
    #expect(exchange.continuation(clientGone: false, draining: false) == .nextRequest)
}

@Test func upstreamChunksAreRelayedWithTheirBoundariesAndOneTerminator() {
    var exchange = machine()
    expectEqual(exchange.responseHead(status: 200, contentLength: nil, isChunked: true, draining: false), .final(framing: .chunked, close: false, skipBody: false))
    #expect(exchange.bodyWrite == .asIs)
    expectEqual(exchange.responseChunkStarts(size: 5), true)
    #expect(exchange.responseChunkEndIsWritten)
    expectEqual(exchange.responseChunkStarts(size: 0), false, "the last chunk's framing is kgb's own terminator")
    #expect(!exchange.responseChunkEndIsWritten)
    expectEqual(exchange.responseComplete(upstreamReusable: true), .finish(lastChunk: true, reuseUpstream: true))
}

@Test func aCloseDelimitedBodyBecomesChunksForHTTP11AndStaysCloseDelimitedForHTTP10() {
    var modern = machine()
    expectEqual(modern.responseHead(status: 200, contentLength: nil, isChunked: false, draining: false), .final(framing: .chunked, close: false, skipBody: false))
    #expect(modern.bodyWrite == .asChunk, "each read becomes one chunk")
    expectEqual(modern.responseChunkStarts(size: 3), false)
    var old = machine(http10: true)
    expectEqual(old.responseHead(status: 200, contentLength: nil, isChunked: true, draining: false), .final(framing: .untilClose, close: true, skipBody: false))
    #expect(old.continuation(clientGone: false, draining: false) == .closeAfterFlush)
}

@Test(arguments: [(true, 200, UInt64?.some(10), BodyFraming.contentLength(10), true), (false, 204, nil, .none, false),
                  (false, 304, 42, .contentLength(42), false), (false, 204, 7, .none, false)])
func bodilessAnswersStateTheLengthTheyWouldHave(_ isHead: Bool, _ status: Int, _ length: UInt64?, _ framing: BodyFraming, _ skip: Bool) {
    var exchange = machine(head: isHead)
    expectEqual(exchange.responseHead(status: status, contentLength: length, isChunked: false, draining: false), .final(framing: framing, close: false, skipBody: skip))
}

@Test func interimAnswersReachOnlyHTTP11ClientsAndUpgradesAreRefused() {
    var modern = machine()
    expectEqual(modern.responseHead(status: 100, contentLength: nil, isChunked: false, draining: false), .interim(relay: true))
    expectEqual(modern.responseHead(status: 103, contentLength: nil, isChunked: false, draining: false), .interim(relay: true))
    #expect(!modern.hasResponseStarted, "an interim answer is not the response")
    expectEqual(modern.responseComplete(upstreamReusable: true), .fail(GatewayFailure(.upstreamBroken, "upstream response ended without a final status")))
    var old = machine(http10: true)
    expectEqual(old.responseHead(status: 100, contentLength: nil, isChunked: false, draining: false), .interim(relay: false))
    var upgrading = machine()
    expectEqual(upgrading.responseHead(status: 101, contentLength: nil, isChunked: false, draining: false), .reject)
}

@Test func anAnswerBeforeTheWholeRequestClosesTheConnectionAndTheUpstream() {
    var exchange = machine(.contentLength(100))
    #expect(!exchange.isRequestReceived)
    expectEqual(exchange.responseHead(status: 413, contentLength: 0, isChunked: false, draining: false), .final(framing: .contentLength(0), close: true, skipBody: false))
    expectEqual(exchange.responseComplete(upstreamReusable: true), .finish(lastChunk: false, reuseUpstream: false))
    #expect(exchange.continuation(clientGone: false, draining: false) == .closeAfterFlush)
}

@Test func aChunkedRequestIsReframedWithOneTerminator() {
    var exchange = machine(.chunked)
    expectEqual(exchange.requestChunkStarts(size: 4), true)
    #expect(exchange.requestChunkEndIsWritten)
    expectEqual(exchange.requestChunkStarts(size: 0), false)
    #expect(!exchange.requestChunkEndIsWritten)
    exchange.requestReceived()
    #expect(exchange.isRequestReceived)
}

@Test func failureBeforeTheHeadIsAnErrorAnswerAndAfterItACut() {
    var whole = machine()
    expectEqual(whole.failed(broken), .answer(status: 502, close: false), "the request was read: the connection stays usable")
    #expect(whole.continuation(clientGone: false, draining: false) == .nextRequest)

    var partial = machine(.contentLength(10))
    expectEqual(partial.failed(GatewayFailure(.upstreamTimeout, "slow")), .answer(status: 504, close: true))
    #expect(partial.continuation(clientGone: false, draining: false) == .closeAfterFlush)

    var streaming = machine()
    _ = streaming.responseHead(status: 200, contentLength: nil, isChunked: true, draining: false)
    expectEqual(streaming.failed(broken), .cut, "no terminator: the client sees a truncated stream")
    #expect(streaming.continuation(clientGone: false, draining: false) == .closeAfterFlush)
}

@Test func aBrokenRequestClosesTheConnection() {
    var exchange = machine()
    exchange.requestBroken()
    expectEqual(exchange.failed(GatewayFailure(.badRequest, "bad")), .answer(status: 400, close: true))
}

@Test func theClientLeavingAtAnyPhaseClosesAtOnce() {
    var phases: [ExchangeMachine] = [machine(.contentLength(5))]
    var headSent = machine()
    _ = headSent.responseHead(status: 200, contentLength: 9, isChunked: false, draining: false)
    phases.append(headSent)
    var finished = headSent
    _ = finished.responseComplete(upstreamReusable: true)
    phases.append(finished)
    for exchange in phases { #expect(exchange.continuation(clientGone: true, draining: false) == .closeNow) }
}

@Test func pauseReasonsOverlapAndReadingResumesOnlyWhenTheLastIsGone() {
    var exchange = machine(.contentLength(10))
    expectEqual(exchange.pause(.upstreamCongested), .client, "first reason: stop reading the client")
    expectEqual(exchange.pause(.requestLogFull), nil, "already stopped")
    expectEqual(exchange.pause(.pipelineBacklog), nil)
    expectEqual(exchange.resume(.upstreamCongested), nil, "the log is still full")
    expectEqual(exchange.resume(.requestLogFull), nil, "the pipeline backlog remains")
    expectEqual(exchange.resume(.pipelineBacklog), .client)
    expectEqual(exchange.resume(.pipelineBacklog), nil, "a reason that is not there changes nothing")

    expectEqual(exchange.pause(.clientCongested), .upstream)
    expectEqual(exchange.pause(.upstreamCongested), .client, "the two sides are counted apart")
    expectEqual(exchange.pause(.responseLogFull), nil)
    expectEqual(exchange.resume(.clientCongested), nil)
    expectEqual(exchange.resume(.responseLogFull), .upstream)
    #expect(exchange.isPaused(.upstreamCongested))
}

@Test func drainingClosesAfterTheExchange() {
    var exchange = machine()
    expectEqual(exchange.responseHead(status: 200, contentLength: 1, isChunked: false, draining: true), .final(framing: .contentLength(1), close: true, skipBody: false), "the head says Connection: close")
    var idle = machine()
    #expect(idle.continuation(clientGone: false, draining: true) == .closeAfterFlush)
    idle.drainStarted()
    #expect(idle.closesConnection)
}

@Test func failoverIsPossibleOnlyWhileNothingHasReachedTheClient() {
    var exchange = machine()
    #expect(exchange.mayFailOver)
    _ = exchange.responseHead(status: 100, contentLength: nil, isChunked: false, draining: false)
    #expect(!exchange.mayFailOver, "a relayed 100 Continue is bytes the client has")
    var old = machine(http10: true)
    _ = old.responseHead(status: 103, contentLength: nil, isChunked: false, draining: false)
    #expect(old.mayFailOver, "an interim answer an HTTP/1.0 client never sees does not count")
    var answered = machine()
    _ = answered.responseHead(status: 200, contentLength: 1, isChunked: false, draining: false)
    #expect(!answered.mayFailOver)
    var failed = machine()
    _ = failed.failed(broken)
    #expect(failed.mayFailOver, "the machine itself does not decide on a failure; the relay asks before failing")
}

@Test func whichAnswersAndFailuresSayTryTheNextUpstream() {
    for status in [429, 500, 502, 503, 529] { #expect(ExchangeMachine.failoverStatuses.contains(status)) }
    for status in [200, 400, 401, 404, 413, 501, 504] { #expect(!ExchangeMachine.failoverStatuses.contains(status)) }
    #expect(ExchangeMachine.failoverCauses.contains(.upstreamUnreachable), "resolve, connect, CONNECT, TLS")
    #expect(ExchangeMachine.failoverCauses.contains(.connectTimeout))
    #expect(!ExchangeMachine.failoverCauses.contains(.upstreamBroken), "the request may have been sent: not again")
    #expect(!ExchangeMachine.failoverCauses.contains(.upstreamTimeout))
}
