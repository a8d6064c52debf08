// The spool on a real directory: records come back in order and whole, a cursor survives a restart, acknowledged
// segments go, a torn tail is cut off, a corrupt frame is skipped and counted, and a full spool drops its oldest.
@testable import ExchangeLog
import Foundation
import Testing

private func directory() -> String {
    let path = NSTemporaryDirectory() + "kgb-spool-test-\(UUID().uuidString)"
    return path
}

private func spool(_ path: String, maxBytes: Int = 1 << 30, sinks: [String] = ["a", "b"], messages: Messages = Messages()) throws -> Spool {
    try Spool(directory: path, maxBytes: maxBytes, fsync: .interval, sinkIDs: sinks, warn: { messages.add($0) })
}

private final class Messages: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ text: String) { lock.lock(); list.append(text); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return list }
}

private func lines(_ records: [String]) -> [UInt8] { Array(records.map { $0 + "\n" }.joined().utf8) }
private func texts(_ records: [[UInt8]]) -> [String] { records.map { String(decoding: $0, as: UTF8.self) } }

@Test func recordsComeBackInOrderAndEachSinkHasItsOwnCursor() throws {
    let path = directory()
    let spool = try spool(path)
    try spool.write(lines(["{\"n\":1}", "{\"n\":2}"]))
    try spool.write(lines(["{\"n\":3}"]))
    let first = spool.read(sink: 0, from: spool.cursor(sink: 0), maxRecords: 2, maxBytes: 1 << 20)
    #expect(texts(first.records) == ["{\"n\":1}", "{\"n\":2}"])
    #expect(first.oldestMillis != nil)
    spool.acknowledge(sink: 0, upTo: first.next)
    let rest = spool.read(sink: 0, from: spool.cursor(sink: 0), maxRecords: 10, maxBytes: 1 << 20)
    #expect(texts(rest.records) == ["{\"n\":3}"])
    #expect(texts(spool.read(sink: 1, from: spool.cursor(sink: 1), maxRecords: 10, maxBytes: 1 << 20).records).count == 3,
            "the other sink still has everything")
    #expect(spool.unsent(sink: 0) == 1 && spool.unsent(sink: 1) == 3)
    spool.close()
}

@Test func aRestartReplaysWhatNoSinkAcknowledgedAndDeletesWhatAllDid() throws {
    let path = directory()
    do {
        let spool = try spool(path)
        try spool.write(lines(["{\"n\":1}", "{\"n\":2}"]))
        let read = spool.read(sink: 0, from: spool.cursor(sink: 0), maxRecords: 1, maxBytes: 1 << 20)
        spool.acknowledge(sink: 0, upTo: read.next)
        spool.close()
    }
    let messages = Messages()
    let again = try spool(path, messages: messages)
    #expect(messages.all.contains { $0.contains("2 record(s) from an earlier run") })
    #expect(texts(again.read(sink: 0, from: again.cursor(sink: 0), maxRecords: 10, maxBytes: 1 << 20).records) == ["{\"n\":2}"])
    #expect(again.read(sink: 1, from: again.cursor(sink: 1), maxRecords: 10, maxBytes: 1 << 20).records.count == 2)
    // Both sinks acknowledge everything: the old segment goes (the one being written stays).
    for sink in 0..<2 {
        let all = again.read(sink: sink, from: again.cursor(sink: sink), maxRecords: 10, maxBytes: 1 << 20)
        again.acknowledge(sink: sink, upTo: all.next)
    }
    try again.write(lines(["{\"n\":3}"]))
    for sink in 0..<2 {
        let all = again.read(sink: sink, from: again.cursor(sink: sink), maxRecords: 10, maxBytes: 1 << 20)
        #expect(texts(all.records) == ["{\"n\":3}"])
        again.acknowledge(sink: sink, upTo: all.next)
    }
    let left = try FileManager.default.contentsOfDirectory(atPath: path + "/segments")
    #expect(left.count == 1, "segments every sink has passed are deleted: \(left)")
    again.close()
}

@Test func aTornTailIsCutOffAtStartUpAndNeverReplayed() throws {
    let path = directory()
    do {
        let spool = try spool(path)
        try spool.write(lines(["{\"n\":1}"]))
        spool.close()
    }
    let segment = path + "/segments/" + (try FileManager.default.contentsOfDirectory(atPath: path + "/segments")).sorted()[0]
    let whole = try Data(contentsOf: URL(fileURLWithPath: segment)).count
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: segment))
    handle.seekToEndOfFile()
    handle.write(Data([0x30, 0, 0, 0, 1, 2, 3, 4]) + Data("{\"torn\":".utf8))
    handle.closeFile()
    let messages = Messages()
    let again = try spool(path, messages: messages)
    #expect(messages.all.contains { $0.contains("torn or corrupt") && $0.contains("after offset \(whole)") })
    #expect(try Data(contentsOf: URL(fileURLWithPath: segment)).count == whole, "cut back to the last whole frame")
    #expect(texts(again.read(sink: 0, from: again.cursor(sink: 0), maxRecords: 10, maxBytes: 1 << 20).records) == ["{\"n\":1}"])
    again.close()
}

@Test func aCorruptFrameIsSkippedWithTheRestOfItsSegmentAndCounted() throws {
    let path = directory()
    let messages = Messages()
    let spool = try spool(path, sinks: ["a"], messages: messages)
    try spool.write(lines(["{\"n\":1}", "{\"n\":2}"]))
    // Flip a byte inside the first record, as a bad disk would.
    let segment = path + "/segments/" + (try FileManager.default.contentsOfDirectory(atPath: path + "/segments")).sorted()[0]
    var data = try Data(contentsOf: URL(fileURLWithPath: segment))
    data[Spool.frameHeader + 2] ^= 0xFF
    try data.write(to: URL(fileURLWithPath: segment))
    let read = spool.read(sink: 0, from: spool.cursor(sink: 0), maxRecords: 10, maxBytes: 1 << 20)
    #expect(read.records.isEmpty, "a record that fails its checksum is never handed out")
    #expect(spool.stats.droppedCorrupt == [1])
    #expect(messages.all.contains { $0.contains("corrupt at offset 0") })
    spool.close()
}

@Test func aFullSpoolDropsItsOldestRecordsAndCountsThemPerSink() throws {
    let path = directory()
    let spool = try spool(path, maxBytes: 1 << 20, sinks: ["a", "b"])
    let record = "{\"x\":\"" + String(repeating: "y", count: 10_000) + "\"}"
    for _ in 0..<300 { try spool.write(lines([record])) }  // 3 MB into 1 MiB
    let stats = spool.stats
    #expect(stats.bytes <= 1 << 20)
    #expect(stats.droppedFull[0] > 0 && stats.droppedFull[0] == stats.droppedFull[1])
    let left = spool.read(sink: 0, from: spool.cursor(sink: 0), maxRecords: 1000, maxBytes: 64 << 20).records.count
    #expect(left + stats.droppedFull[0] == 300, "every record is delivered or counted as dropped")
    spool.close()
}

@Test func aRecordLargerThanABatchStillComesOutWhole() throws {
    let path = directory()
    let spool = try spool(path, sinks: ["a"])
    let big = "{\"x\":\"" + String(repeating: "z", count: 3 << 20) + "\"}"
    try spool.write(lines(["{\"n\":1}", big, "{\"n\":3}"]))
    var cursor = spool.cursor(sink: 0)
    var got: [String] = []
    for _ in 0..<5 {
        let read = spool.read(sink: 0, from: cursor, maxRecords: 10, maxBytes: 1 << 20)
        got += texts(read.records)
        cursor = read.next
    }
    #expect(got.count == 3 && got[1] == big)
    spool.close()
}

@Test func fsyncFollowsTheSpoolFsyncSetting() throws {
    let always = try Spool(directory: directory(), maxBytes: 1 << 30, fsync: .always, sinkIDs: ["a"], warn: { _ in })
    let interval = try Spool(directory: directory(), maxBytes: 1 << 30, fsync: .interval, sinkIDs: ["a"], warn: { _ in })
    let before = (always.stats.syncs, interval.stats.syncs)
    for n in 0..<5 {
        try always.write(lines(["{\"n\":\(n)}"]))
        try interval.write(lines(["{\"n\":\(n)}"]))
        interval.syncIfDue()
    }
    #expect(always.stats.syncs - before.0 == 5, "always: every batch")
    #expect(interval.stats.syncs - before.1 == 0, "interval: not within the second")
    Thread.sleep(forTimeInterval: 1.05)
    interval.syncIfDue()
    #expect(interval.stats.syncs - before.1 == 1, "interval: once the second is up")
    interval.syncIfDue()
    #expect(interval.stats.syncs - before.1 == 1, "and not again with nothing new written")
    always.close()
    interval.close()
}
