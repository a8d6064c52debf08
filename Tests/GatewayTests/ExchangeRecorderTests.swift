// The start record's wall clock is the wall clock at the exchange's start, though the recorder reads it only every
// 100 ms and derives it from the loop's monotonic time in between.
@testable import Gateway
import Glibc
import HTTP1
import LogRing
import Testing
import UV

private func wallMicrosNow() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec / 1000)
}

@Test func theStartRecordsWallClockIsTheWallClockAtTheStart() {
    let loop = EventLoop()
    let ring = LogRing(capacity: 1 << 16)
    let recorder = ExchangeRecorder(loop: loop, ring: ring, wakeup: LogWakeup(), policy: .pause)
    defer { recorder.close() }
    let request = parsedRequestHead("POST /v1/messages HTTP/1.1\r\nHost: kgb\r\n\r\n")
    // Exchanges close together (one sample serves them) and apart (a new sample each): each start within a few ms of
    // the wall clock read beside it, and in order.
    var previous: Int64 = 0
    for (index, pause) in [0, 0, 60_000, 150_000, 0, 60_000, 250_000, 1_000].enumerated() {
        usleep(UInt32(pause))
        let before = wallMicrosNow()
        recorder.exchangeStarted(UInt64(index + 1), client: "127.0.0.1:1", upstream: Array("http://up".utf8),
                                 request: request)
        let after = wallMicrosNow()
        var recorded: Int64 = 0
        _ = ring.consume { record in
            if record.kind == .start { recorded = Int64(UInt64(littleEndian: record.payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self))) }
        }
        #expect(recorded >= before - 2_000 && recorded <= after + 2_000, "exchange \(index): \(recorded) not in \(before)...\(after)")
        #expect(recorded >= previous, "exchange \(index) starts no earlier than the one before")
        previous = recorded
    }
}
