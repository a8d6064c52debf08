// The doorbell: a ring wakes one wait, many rings collapse into one wakeup, an unrung wait times out.
import Foundation
import LogRing
import Testing

@Test func unrungWaitTimesOut() {
    let wakeup = LogWakeup()
    defer { wakeup.close() }
    #expect(!wakeup.wait(timeoutMilliseconds: 0))
    let started = ContinuousClock.now
    #expect(!wakeup.wait(timeoutMilliseconds: 30))
    #expect(ContinuousClock.now - started >= .milliseconds(25))
}

@Test func manyRingsMakeOneWakeup() {
    let wakeup = LogWakeup()
    defer { wakeup.close() }
    for _ in 0..<5 { wakeup.ring() }
    #expect(wakeup.wait(timeoutMilliseconds: 0))
    #expect(!wakeup.wait(timeoutMilliseconds: 0), "the first wait drained every ring")
    wakeup.ring()
    #expect(wakeup.wait(timeoutMilliseconds: 0))
}

@Test func ringFromAnotherThreadWakesTheWaiter() {
    let wakeup = LogWakeup()
    defer { wakeup.close() }
    let thread = Thread {
        usleep(20_000)
        wakeup.ring()
    }
    thread.start()
    let started = ContinuousClock.now
    #expect(wakeup.wait(timeoutMilliseconds: 10_000))
    #expect(ContinuousClock.now - started < .seconds(5))
}

@Test func closeTwiceIsHarmless() {
    let wakeup = LogWakeup()
    wakeup.close()
    wakeup.close()
}
