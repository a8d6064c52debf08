// Deadlines on one loop share one heap and one libuv timer: each fires once, no earlier than it is due, never on a later
// turn than a later deadline; moved, cleared and closed ones behave as their last call says; and an idle loop is left with none.
import UV
import Testing

@Test func deadlinesFireOnceInOrderAndNotBeforeTheyAreDue() {
    let loop = EventLoop()
    final class Log { var fired: [(index: Int, at: UInt64)] = [] }
    let log = Log()
    var timers: [DeadlineTimer] = []
    var due: [Int: UInt64] = [:]
    var random = SystemRandomNumberGenerator()
    for index in 0..<200 {
        timers.append(DeadlineTimer(loop: loop) { [unowned loop] in log.fired.append((index, loop.now)) })
    }
    let start = loop.now
    for (index, timer) in timers.enumerated() {
        timer.expire(in: UInt64.random(in: 0...60, using: &random))
        // Moved later, then earlier, then later again: the last call counts.
        if index % 3 == 0 { timer.expire(in: UInt64.random(in: 0...60, using: &random)) }
        if index % 5 == 0 { timer.expire(in: 5) }
        due[index] = timer.deadline
    }
    // Cleared and closed ones never fire; one closes another when it fires.
    for index in stride(from: 7, to: 200, by: 11) { timers[index].clear(); due[index] = nil }
    for index in stride(from: 9, to: 200, by: 13) where due[index] != nil { timers[index].close(); due[index] = nil }
    let closer = DeadlineTimer(loop: loop) { timers[1].close() }
    closer.expire(in: 0)
    due[1] = nil
    loop.run()  // returns once no deadline is left: the shared timer stops with the last one
    #expect(log.fired.count == due.count)
    #expect(Set(log.fired.map(\.index)) == Set(due.keys))
    for (index, at) in log.fired { #expect(at >= due[index]!, "timer \(index) fired before it was due") }
    // An earlier deadline never fires on a later turn than a later one (two that are both overdue when the loop gets
    // to them fire on the same turn, in either order).
    let firedOn = Dictionary(uniqueKeysWithValues: log.fired.map { ($0.index, $0.at) })
    for (a, dueA) in due {
        for (b, dueB) in due where dueA < dueB {
            #expect(firedOn[a]! <= firedOn[b]!, "timer \(a) (due \(dueA)) fired after timer \(b) (due \(dueB))")
        }
    }
    #expect(loop.now >= start)
    for timer in timers + [closer] { timer.close() }
}

@Test func aTimerFiresAgainWhenSetAgainFromItsOwnExpiry() {
    let loop = EventLoop()
    var count = 0
    var timer: DeadlineTimer!
    timer = DeadlineTimer(loop: loop) {
        count += 1
        if count < 3 { timer.expire(in: 1) }
    }
    timer.expire(in: 1)
    loop.run()
    #expect(count == 3)
    timer.close()
}
