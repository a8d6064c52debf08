// An upstream connection's deadline in each phase, without a timer.
@testable import Gateway
import Testing

@Test func eachPhaseExpiresAsItShould() {
    var deadline = UpstreamDeadline()
    #expect(deadline.expired(now: 5, upstreamTimeout: 100, readingPaused: false) == .nothing)
    deadline.set(.connect, now: 0)
    #expect(deadline.expired(now: 10, upstreamTimeout: 100, readingPaused: false) == .connectTimedOut)
    deadline.set(.awaitingHead, now: 0)
    guard case .failed(let noHead) = deadline.expired(now: 100, upstreamTimeout: 100, readingPaused: false) else {
        Issue.record("no head in time must fail")
        return
    }
    #expect(noHead.outcome == .upstreamTimeout && noHead.status == 504)
    deadline.set(.pooled, now: 0)
    #expect(deadline.expired(now: 100, upstreamTimeout: 100, readingPaused: false) == .discard)
    deadline.clear()
    #expect(deadline.expired(now: 1_000, upstreamTimeout: 100, readingPaused: false) == .nothing)
}

@Test func midBodySilenceCountsFromTheLastBytes() {
    var deadline = UpstreamDeadline()
    deadline.set(.awaitingHead, now: 0)
    deadline.headArrived(now: 10)
    #expect(deadline.phase == .body)
    deadline.activity(at: 60)
    // The timer fires 100 ms after it was armed, but bytes came at 60: 50 ms of silence so far.
    #expect(deadline.expired(now: 110, upstreamTimeout: 100, readingPaused: false) == .rearm(50))
    guard case .failed(let silent) = deadline.expired(now: 160, upstreamTimeout: 100, readingPaused: false) else {
        Issue.record("100 ms of silence mid-body must fail")
        return
    }
    #expect(silent.message.contains("mid-response"))
}

@Test func anUpstreamKgbHeldBackIsNotSilent() {
    // Found by the soak: a slow client made kgb stop reading the upstream, and the body timer then blamed the upstream.
    // The exchange decides instead (a client that reads nothing at all is cut; see ExchangeRelay.upstreamHeldBack).
    var deadline = UpstreamDeadline()
    deadline.set(.body, now: 0)
    #expect(deadline.expired(now: 5_000, upstreamTimeout: 100, readingPaused: true) == .heldBack)
    deadline.activity(at: 5_000)  // reading resumed
    #expect(deadline.expired(now: 5_050, upstreamTimeout: 100, readingPaused: false) == .rearm(50))
}

@Test func aHeadArrivingAfterTheBodyPhaseChangesNothing() {
    var deadline = UpstreamDeadline()
    deadline.set(.pooled, now: 0)
    deadline.headArrived(now: 10)
    #expect(deadline.phase == .pooled)
}
