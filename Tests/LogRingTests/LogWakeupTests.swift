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
    wakeup.ringIfWaiting(usedBytes: 1 << 30)
    #expect(!wakeup.wait(timeoutMilliseconds: 0))
    // Work already there: the wait returns at once, without a ring.
    #expect(wakeup.wait(timeoutMilliseconds: 10_000) { true })
    // A consumer asleep for any record is woken by the first ringIfWaiting.
    let woken = sleeperIsWoken(wakeup, untilRingHolds: 1, producerSees: { 16 })
    #expect(woken)
}

/// A consumer letting records gather sleeps through rings below its mark and is woken at the mark.
@Test func ringIfWaitingWakesAGatheringConsumerAtItsMark() {
    let wakeup = LogWakeup()
    defer { wakeup.close() }
    let fill = Atomic<Int>(0)
    let calls = Atomic<Int>(0)
    // The producer reports a fill that grows by 100 bytes per call; the mark is 1,000.
    let woken = sleeperIsWoken(wakeup, untilRingHolds: 1_000, producerSees: {
        calls.add(1, ordering: .sequentiallyConsistent)
        return fill.add(100, ordering: .sequentiallyConsistent).newValue
    })
    #expect(woken)
    #expect(fill.load(ordering: .sequentiallyConsistent) >= 1_000, "not woken below the mark")
    // Below the mark, nothing rang: the eventfd is empty now that the sleeper has drained the one ring.
    #expect(!wakeup.wait(timeoutMilliseconds: 0))
    #expect(calls.load(ordering: .sequentiallyConsistent) >= 10)
}

/// Starts a consumer sleeping in `wait(untilRingHolds:)` and calls `ringIfWaiting` with `producerSees()` every
/// millisecond until it wakes; true when it was woken by a ring rather than its 10 s timeout.
private func sleeperIsWoken(_ wakeup: LogWakeup, untilRingHolds mark: Int, producerSees used: @escaping @Sendable () -> Int) -> Bool {
    let woke = Atomic<Int>(0)
    let thread = Thread {
        let rung = wakeup.wait(timeoutMilliseconds: 10_000, untilRingHolds: mark) { false }
        woke.store(rung ? 1 : 2, ordering: .sequentiallyConsistent)
    }
    thread.start()
    while woke.load(ordering: .sequentiallyConsistent) == 0 {
        wakeup.ringIfWaiting(usedBytes: used())
        usleep(1_000)
    }
    return woke.load(ordering: .sequentiallyConsistent) == 1
}
