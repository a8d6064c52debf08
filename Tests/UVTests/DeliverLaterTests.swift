// Completions libuv would deliver later are delivered later even when known at once, so no caller's state machine
// sees its completion inside the call that started it.
import Foundation
import UV
import Testing

@Test func anAddressThatNeedsNoLookupIsStillAnsweredOnALaterTurn() {
    let loop = EventLoop()
    var answered: [SocketAddress]? = nil
    Resolver.resolve(loop: loop, host: "127.0.0.1", port: 80) { result in answered = try? result.get() }
    #expect(answered == nil, "not inside resolve()")
    loop.runOnce()
    #expect(answered?.map(\.description) == ["127.0.0.1:80"])
}

@Test func workDeliveredLaterRunsOnTheNextTurnInOrder() {
    let loop = EventLoop()
    var order: [Int] = []
    loop.deliverLater { order.append(1) }
    loop.deliverLater { order.append(2) }
    #expect(order.isEmpty)
    loop.runOnce()
    #expect(order == [1, 2])
}

#if DEBUG
@Test func aLoopOwnedObjectTouchedFromAnotherThreadStopsADebugBuild() async {
    await #expect(processExitsWith: .failure) {
        let loop = EventLoop()
        let keepAlive = Timer(loop: loop) {}
        keepAlive.start(repeatingEvery: 10)
        nonisolated(unsafe) let owned = loop  // handed to the loop's thread, as a worker does
        let running = Thread { owned.run() }
        running.start()
        usleep(100_000)
        keepAlive.start(milliseconds: 5)  // from this thread, while the loop runs on the other
    }
}
#endif
