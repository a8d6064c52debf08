// The JSONL sink on a real file: batches of any size land byte for byte (direct writes of whole blocks, the partial
// blocks buffered), two sinks on one file never cut into each other's lines, a reader following the file reads only
// what was written, and a file cut (copytruncate), grown by someone else, or moved away (logrotate) is followed.
@testable import ExchangeLog
import Foundation
import Testing

private func temporaryFile() -> String {
    let directory = NSTemporaryDirectory() + "kgb-jsonl-test-\(UUID().uuidString)"
    return directory + "/log.jsonl"
}

private func contents(_ path: String) -> [UInt8] { FileSystem.read(path) ?? [] }

/// `count` records of assorted lengths, each a whole line.
private func batch(_ label: String, _ count: Int, length: Int) -> [UInt8] {
    var out: [UInt8] = []
    for index in 0..<count {
        let padding = String(repeating: "x", count: (length + index * 37) % 5000)
        out += Array("{\"batch\":\"\(label)\",\"n\":\(index),\"pad\":\"\(padding)\"}\n".utf8)
    }
    return out
}

/// Whether this temp directory's file system takes O_DIRECT (tmpfs does not; the sink then appends buffered).
private func supportsDirect(_ path: String) -> Bool {
    let fd = open(path, O_WRONLY | DirectAppender.oDirect | O_CLOEXEC)
    defer { if fd >= 0 { close(fd) } }
    return fd >= 0
}

@Test(arguments: [true, false])
func batchesOfEverySizeLandByteForByte(direct: Bool) throws {
    let path = temporaryFile()
    let sink = try JSONLinesSink(path: path, direct: direct)
    defer { sink.close() }
    #expect(sink.writesDirectly == (direct && supportsDirect(path)))
    var expected: [UInt8] = []
    // Under a block, exactly a block, across many blocks, over the 1 MiB staging buffer, and tiny ones between.
    let sizes = [(1, 10), (3, 1300), (40, 2000), (1, 1), (700, 2500), (2, 4000), (1, 0)]
    for (index, (count, length)) in sizes.enumerated() {
        var lines = batch("b\(index)", count, length: length)
        if index == 3 { lines = Array(repeating: UInt8(ascii: "y"), count: 4095) + [0x0A] }  // one whole block
        try sink.write(lines)
        expected += lines
        #expect(contents(path) == expected, "after batch \(index) the file is every batch so far, nothing more")
    }
}

@Test func batchesPlacedForTheFilesEndGoOutInPlaceAndMisplacedOnesStillLand() throws {
    // As the logger writes: each batch in the page-aligned output buffer, placed for the offset the sink expects.
    // Someone else's lines in between make the placement wrong for one batch: it is copied instead, and still lands.
    let path = temporaryFile()
    let sink = try JSONLinesSink(path: path)
    let other = try JSONLinesSink(path: path, direct: false)
    defer { sink.close(); other.close() }
    let out = OutputBuffer(capacity: 64)
    var expected: [UInt8] = []
    for round in 0..<12 {
        out.reset(leading: sink.nextAppendOffset ?? 0)
        let lines = batch("r\(round)", 3 + round % 4, length: 2500 + round * 301)
        lines.withUnsafeBytes { out.raw($0) }
        try sink.write(contentsOf: out.bytes)
        expected += lines
        if round % 5 == 4 {
            let theirs = batch("other\(round)", 1, length: 77)
            try other.write(theirs)
            expected += theirs
        }
        #expect(contents(path) == expected, "round \(round)")
    }
    if sink.writesDirectly {
        #expect(sink.directBytesInPlace > 12 * 4096, "most whole blocks went out without the aligned copy")
    }
}

@Test func twoSinksOnOneFileNeverCutIntoEachOthersLines() throws {
    let path = temporaryFile()
    let first = try JSONLinesSink(path: path)
    let second = try JSONLinesSink(path: path)
    defer { first.close(); second.close() }
    var written: [String] = []
    for round in 0..<30 {
        let a = batch("a\(round)", 1 + round % 7, length: 900 + round * 131)
        let b = batch("b\(round)", 1 + round % 5, length: 3000 + round * 17)
        try first.write(a)
        try second.write(b)
        written += String(decoding: a + b, as: UTF8.self).split(separator: "\n").map(String.init)
    }
    let lines = String(decoding: contents(path), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.last == "", "the file ends in a newline")
    #expect(lines.dropLast().map(String.init) == written, "every line whole, in the order written")
}

@Test func aFileCutByCopytruncateIsWrittenFromItsNewEnd() throws {
    let path = temporaryFile()
    let sink = try JSONLinesSink(path: path)
    defer { sink.close() }
    try sink.write(batch("before", 9, length: 3000))
    #expect(truncate(path, 0) == 0)
    let after = batch("after", 3, length: 1500)
    try sink.write(after)
    #expect(contents(path) == after, "no hole of zeros where the old bytes were")
}

@Test func linesAppendedBySomeoneElseStay() throws {
    let path = temporaryFile()
    let sink = try JSONLinesSink(path: path)
    defer { sink.close() }
    let first = batch("first", 2, length: 1000)
    try sink.write(first)
    let foreign = Array("{\"from\":\"elsewhere\"}\n".utf8)
    let fd = open(path, O_WRONLY | O_APPEND)
    #expect(foreign.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == foreign.count)
    close(fd)
    let second = batch("second", 5, length: 2000)
    try sink.write(second)
    #expect(contents(path) == first + foreign + second)
}

@Test func reopenAfterLogrotateWritesTheNewFile() throws {
    let path = temporaryFile()
    let sink = try JSONLinesSink(path: path)
    defer { sink.close() }
    let old = batch("old", 4, length: 2222)
    try sink.write(old)
    #expect(rename(path, path + ".1") == 0)
    try sink.reopen()
    let new = batch("new", 4, length: 1111)
    try sink.write(new)
    #expect(contents(path + ".1") == old)
    #expect(contents(path) == new)
}

@Test func aFailedWriteLeavesNoFragmentAndSaysHowManyWereLost() throws {
    let sink = try JSONLinesSink(path: "/dev/full")
    defer { sink.close() }
    #expect(!sink.writesDirectly, "not a regular file: buffered appends")
    let lines = batch("lost", 3, length: 10)
    do {
        try sink.write(lines)
        Issue.record("a write to /dev/full succeeded")
    } catch let error as SinkError {
        #expect(error.linesLost == 3)
        #expect(error.description.contains("No space left"))
    }
}

@Test func aReaderFollowingTheFileOnlyEverReadsWhatWasWritten() throws {
    let path = temporaryFile()
    let sink = try JSONLinesSink(path: path)
    defer { sink.close() }
    let batches = (0..<400).map { batch("r\($0)", 1 + $0 % 9, length: 700 + ($0 * 389) % 6000) }
    let expected = batches.flatMap { $0 }
    // A tailer (a log shipper, `kgb tail`) reading as the file grows: every byte it reads is the byte written there.
    let reader = Thread {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var offset = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while offset < expected.count {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            guard n > 0 else { continue }
            #expect(Array(chunk[0..<n]) == Array(expected[offset..<(offset + n)]), "at byte \(offset)")
            if Array(chunk[0..<n]) != Array(expected[offset..<(offset + n)]) { return }
            offset += n
        }
    }
    reader.start()
    for lines in batches { try sink.write(lines) }
    while !reader.isFinished { usleep(1000) }
    #expect(contents(path) == expected)
}
