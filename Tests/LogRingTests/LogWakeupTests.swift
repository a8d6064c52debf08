// The doorbell: a ring wakes one wait, many rings collapse into one wakeup, an unrung wait times out.
import Foundation
import LogRing
import Synchronization
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

@Test func ringIfWaitingRingsOnlyForASleepingConsumer() {
    let wakeup = LogWakeup()
    defer { wakeup.close() }
    // Nobody waits: no ring (the consumer looks at the ring itself before it sleeps).
    wakeup.ringIfWaiting()
    #expect(!wakeup.wait(timeoutMilliseconds: 0))
    // Work already there: the wait returns at once, without a ring.
    #expect(wakeup.wait(timeoutMilliseconds: 10_000) { true })
    // A consumer asleep in wait(unless:) is woken by ringIfWaiting.
    let woke = Atomic<Int>(0)
    let thread = Thread {
        woke.store(wakeup.wait(timeoutMilliseconds: 10_000) { false } ? 1 : 2, ordering: .sequentiallyConsistent)
    }
    thread.start()
    while woke.load(ordering: .sequentiallyConsistent) == 0 {
        wakeup.ringIfWaiting()
        usleep(1_000)
    }
    #expect(woke.load(ordering: .sequentiallyConsistent) == 1, "woken by a ring, not by the timeout")
}
