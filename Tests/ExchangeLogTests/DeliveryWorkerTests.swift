// A delivery thread over a real spool, delivering to a sink written here (the remote stores have their own tests
// against real servers): batches in order, a corrupt stretch passed once, a refusal dead-lettered, retries.
@testable import ExchangeLog
import Foundation
import Synchronization
import Testing

/// Keeps what it is given; fails as told first.
private final class KeepingSink: RemoteSink, @unchecked Sendable {
    let name = "test://keeping"
    private let state = Mutex<(records: [String], failures: [DeliveryFailure])>(([], []))

    init(failing failures: [DeliveryFailure] = []) { state.withLock { $0.failures = failures } }

    func deliver(_ records: [[UInt8]]) throws(DeliveryFailure) {
        let failure: DeliveryFailure? = state.withLock { $0.failures.isEmpty ? nil : $0.failures.removeFirst() }
        if let failure { throw failure }
        state.withLock { $0.records += records.map { String(decoding: $0, as: UTF8.self) } }
    }

    func close() {}
    var records: [String] { state.withLock { $0.records } }
}

/// What the spool and the worker said.
private final class Said: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ text: String) { lock.lock(); list.append(text); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return list }
}

private func spool(_ said: Said) throws -> Spool {
    try Spool(directory: NSTemporaryDirectory() + "kgb-delivery-test-\(UUID().uuidString)", maxBytes: 1 << 30,
              fsync: .interval, sinkIDs: ["s"], warn: { said.add($0) })
}

private func settings() -> DeliveryWorker.Settings {
    var settings = DeliveryWorker.Settings()
    settings.batchMillis = 20
    return settings
}

private func waitUntil(_ condition: () -> Bool) {
    let deadline = Date().addingTimeInterval(10)
    while !condition() && Date() < deadline { usleep(10_000) }
}

@Test func aCorruptStretchIsPassedOnceAndWhatFollowsIsDelivered() throws {
    let said = Said()
    let spool = try spool(said)
    try spool.write(Array("{\"n\":1}\n{\"n\":2}\n".utf8))
    // Damage the first record where it lies, as a bad disk would.
    let segment = spool.directory + "/segments/" + (try FileManager.default.contentsOfDirectory(atPath: spool.directory + "/segments")).sorted().last!
    var data = try Data(contentsOf: URL(fileURLWithPath: segment))
    data[Spool.frameHeader + 2] ^= 0xFF
    try data.write(to: URL(fileURLWithPath: segment))
    let sink = KeepingSink()
    let worker = DeliveryWorker(spool: spool, index: 0, sink: sink, settings: settings(), warn: { _ in })
    worker.start()
    usleep(300_000)
    try spool.write(Array("{\"n\":3}\n".utf8))  // in the same segment, after the damage
    waitUntil { sink.records == ["{\"n\":3}"] }
    worker.stop(within: 1)
    #expect(sink.records == ["{\"n\":3}"], "the damaged segment's rest is skipped, what follows delivered")
    #expect(spool.stats.droppedCorrupt == [1], "counted once, not at every look")
    #expect(said.all.filter { $0.contains("corrupt") }.count == 1)
    spool.close()
}

@Test func aRetryAndARefusalLeaveEveryRecordDeliveredOrDeadLettered() throws {
    let said = Said()
    let spool = try spool(said)
    let sink = KeepingSink(failing: [DeliveryFailure(.retry(afterSeconds: 0.05), "down"), DeliveryFailure(.reject, "bad batch")])
    let worker = DeliveryWorker(spool: spool, index: 0, sink: sink, settings: settings(), warn: { said.add($0) })
    try spool.write(Array("{\"n\":1}\n".utf8))
    worker.start()
    waitUntil { worker.metrics.deadLettered.load(ordering: Synchronization.AtomicLoadOrdering.relaxed) == 1 }
    try spool.write(Array("{\"n\":2}\n".utf8))
    waitUntil { sink.records == ["{\"n\":2}"] }
    worker.stop(within: 1)
    #expect(worker.metrics.failures.load(ordering: Synchronization.AtomicLoadOrdering.relaxed) == 1)
    #expect(worker.metrics.deadLettered.load(ordering: Synchronization.AtomicLoadOrdering.relaxed) == 1)
    #expect(sink.records == ["{\"n\":2}"])
    let dead = try FileManager.default.contentsOfDirectory(atPath: spool.directory + "/dead-letter")
    #expect(dead.count == 1)
    #expect(try String(contentsOfFile: spool.directory + "/dead-letter/" + dead[0], encoding: .utf8) == "{\"n\":1}\n")
    #expect(said.all.contains { $0.contains("is down") } && said.all.contains { $0.contains("refused a batch of 1 record(s)") })
    spool.close()
}
