// A client connection's deadline between exchanges, without a timer.
@testable import Gateway
import Testing

@Test func aHeadThatNeverStartsClosesQuietlyAndOneThatStalledIsA408() {
    var deadline = ClientDeadline()
    deadline.set(.header)
    #expect(deadline.expired(requestStarted: false, unreadBytes: { 0 }) == .close)
    #expect(deadline.expired(requestStarted: true, unreadBytes: { 0 }) == .headTimedOut)
    deadline.clear()
    #expect(deadline.expired(requestStarted: true, unreadBytes: { 0 }) == .nothing)
}

@Test func anIdleClientWithNothingLeftToReadIsClosed() {
    var deadline = ClientDeadline()
    deadline.set(.idle)
    #expect(deadline.expired(requestStarted: false, unreadBytes: { 0 }) == .close)
}

@Test func aClientStillReadingItsLastAnswerIsNotIdle() {
    // Found by the soak: the idle timeout dropped the end of an answer a slow client was still reading.
    var deadline = ClientDeadline()
    deadline.set(.idle)
    var unread = 3_000_000
    #expect(deadline.expired(requestStarted: false, unreadBytes: { unread }) == .rearm, "first look: bytes are unread")
    unread = 2_000_000
    #expect(deadline.expired(requestStarted: false, unreadBytes: { unread }) == .rearm, "progress: still reading")
    #expect(deadline.expired(requestStarted: false, unreadBytes: { unread }) == .close, "no progress for a whole period")
}

@Test func aNewIdlePeriodForgetsTheLastOne() {
    var deadline = ClientDeadline()
    deadline.set(.idle)
    #expect(deadline.expired(requestStarted: false, unreadBytes: { 10 }) == .rearm)
    deadline.set(.idle)  // another exchange ended
    #expect(deadline.expired(requestStarted: false, unreadBytes: { 10 }) == .rearm)
}
