// The ring across two threads: hundreds of megabytes through a 1 MiB ring, every record checked on the way out.
// Meant to run under ThreadSanitizer too (swift test --sanitize=thread, scratch path .build-tsan).
import Foundation
import LogRing
import Testing

#if DEBUG
private let streamBytes = 320 << 20  // about a second unoptimised, a few under ThreadSanitizer
#else
private let streamBytes = 1 << 30
#endif

@Test(.timeLimit(.minutes(2)))
func twoThreadsMoveHundredsOfMegabytesInOrder() async throws {
    let ring = LogRing(capacity: 1 << 20)
    let wakeup = LogWakeup()
    defer { wakeup.close() }
    let source = StressSource()
    let started = ContinuousClock.now

    // Producer (the loop thread's role): rings the doorbell once per 16 records, as a loop rings once per
    // iteration, and when it finds the ring full; then yields until there is room.
    async let produced = onThread("producer") {
        var plan = StressPlan()
        var sent = Tally()
        var refusals = 0
        source.bytes.withUnsafeBytes { pattern in
            while sent.bytes < streamBytes {
                let record = plan.next()
                let payload = UnsafeRawBufferPointer(rebasing: pattern[source.range(at: sent.bytes, count: record.size)])
                let first = UnsafeRawBufferPointer(rebasing: payload[..<record.split])
                let second = UnsafeRawBufferPointer(rebasing: payload[record.split...])
                while !ring.tryWrite(kind: record.kind, exchange: sent.records, payloads: first, second) {
                    refusals += 1
                    wakeup.ring()
                    if ring.canWrite(payloadBytes: record.size) { continue }  // room appeared meanwhile
                    sched_yield()
                }
                sent.add(payload)
                if sent.records % 16 == 0 { wakeup.ring() }
            }
            wakeup.ring()
        }
        return (sent, refusals)
    }

    // Consumer (the logger thread's role): the same plan predicts every record's kind, size and bytes.
    async let consumed = onThread("consumer") {
        var plan = StressPlan()
        var received = Tally()
        var failures: [String] = []
        var sleeps = 0
        source.bytes.withUnsafeBytes { pattern in
            while received.bytes < streamBytes && failures.isEmpty {
                let count = ring.consume { record in
                    let expected = plan.next()
                    let range = source.range(at: received.bytes, count: expected.size)
                    if record.exchange != received.records || record.kind != expected.kind ||
                        record.payload.count != expected.size ||
                        (expected.size > 0 && memcmp(record.payload.baseAddress!, pattern.baseAddress! + range.lowerBound,
                                                     expected.size) != 0) {
                        if failures.count < 5 {
                            failures.append("record \(received.records): got \(record.kind) #\(record.exchange) " +
                                "\(record.payload.count) bytes, expected \(expected.kind) \(expected.size) bytes")
                        }
                    }
                    received.add(record.payload)
                }
                let used = ring.usedBytes
                if used < 0 || used > ring.capacity { failures.append("usedBytes \(used)") }
                if count == 0 {
                    sleeps += 1
                    _ = wakeup.wait(timeoutMilliseconds: 1000)
                }
            }
        }
        return (received, failures, sleeps)
    }

    let (sent, refusals) = await produced
    let (received, failures, sleeps) = await consumed
    let elapsed = ContinuousClock.now - started
    #expect(failures.isEmpty, "\(failures)")
    #expect(received.records == sent.records)
    #expect(received.bytes == sent.bytes)
    #expect(received.checksum == sent.checksum)
    #expect(sent.bytes >= streamBytes)
    print("LogRing stress: \(sent.records) records, \(sent.bytes >> 20) MiB in \(elapsed); " +
          "producer found the ring full \(refusals) times, consumer slept \(sleeps) times")
}

/// Runs `body` on a new thread (not the test's cooperative pool, which it would block for seconds).
private func onThread<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.name = name
        thread.start()
    }
}

/// Payload bytes: stream byte n is `bytes[n % period]`. The array repeats its first `maxPayload` bytes after the
/// period, so any record's payload is one contiguous slice.
private final class StressSource: Sendable {
    static let period = 65_521  // prime, so payload boundaries drift across it
    let bytes: [UInt8]

    init() {
        var random = SplitMix64(seed: 7)
        let period = (0..<StressSource.period).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        bytes = period + period[..<LogRing.maxPayload]
    }

    func range(at streamOffset: Int, count: Int) -> Range<Int> {
        let start = streamOffset % StressSource.period
        return start..<start + count
    }
}

/// Record i's kind, size and two-piece split, from a seeded generator both threads run.
private struct StressPlan {
    var random = SplitMix64(seed: 2024)

    mutating func next() -> (kind: LogRecordKind, size: Int, split: Int) {
        let roll = random.next()
        let kinds: [LogRecordKind] = [.start, .requestBody, .responseHead, .responseBody, .end]
        let kind = kinds[Int(roll % UInt64(kinds.count))]
        // A quarter of the records small (heads, SSE events), the rest anywhere up to the limit.
        let size = (roll >> 3) & 3 == 0 ? Int((roll >> 8) % 257) : Int((roll >> 8) % UInt64(LogRing.maxPayload + 1))
        let split = (roll >> 5) & 1 == 0 ? size : Int((roll >> 32) % UInt64(size + 1))
        return (kind, size, split)
    }
}

/// Records, bytes and an order-sensitive checksum (FNV-1a over 8-byte words) of everything that went by.
private struct Tally: Sendable {
    var records: UInt64 = 0
    var bytes = 0
    var checksum: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ payload: UnsafeRawBufferPointer) {
        records += 1
        bytes += payload.count
        var index = 0
        while index + 8 <= payload.count {
            checksum = (checksum ^ payload.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0x100_0000_01B3
            index += 8
        }
        while index < payload.count {
            checksum = (checksum ^ UInt64(payload[index])) &* 0x100_0000_01B3
            index += 1
        }
        checksum = (checksum ^ UInt64(payload.count)) &* 0x100_0000_01B3
    }
}
