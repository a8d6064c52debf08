// What failover keeps of a request: everything up to the limit, nothing past it, nothing once released.
@testable import Gateway
import HTTP1
import Testing

@Test func theReplayKeepsEveryBodyByteUpToItsLimit() {
    var replay = RequestReplay(limit: 10)
    #expect(!replay.canReplay, "off until a failover route starts it")
    replay.start(HTTPHead(), target: 0..<0)
    Array("01234".utf8).withUnsafeBytes { replay.append($0) }
    Array("56789".utf8).withUnsafeBytes { replay.append($0) }
    guard case .keeping(_, _, let body) = replay.state else {
        Issue.record("ten bytes fit a limit of ten")
        return
    }
    #expect(body == Array("0123456789".utf8))
    Array("x".utf8).withUnsafeBytes { replay.append($0) }
    #expect(!replay.canReplay, "past the limit the request cannot be sent again")
    Array("y".utf8).withUnsafeBytes { replay.append($0) }
    #expect(!replay.canReplay, "and stays so")
    replay.start(HTTPHead(), target: 0..<0)
    #expect(replay.canReplay)
    replay.release()
    #expect(!replay.canReplay)
}
