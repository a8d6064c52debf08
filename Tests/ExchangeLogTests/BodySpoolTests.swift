// Exchanges that stay open park their bytes in the body spool: the records they end with are byte for byte the ones
// an all-in-memory logger writes, whatever was parked and whenever, and the spool lets go of every byte and file.
@testable import ExchangeLog
import Foundation
import Testing

private func directory() -> String {
    NSTemporaryDirectory() + "kgb-spool-\(UInt64.random(in: 0...UInt64.max))"
}

/// A long SSE stream (~48 KB) in many small fragments: parked in more pieces than are kept before a rewrite, and past
/// a 20,000-byte window into its own spill file.
private func longStream(id: UInt64) -> RingExchange {
    var exchange = RingExchange()
    exchange.id = id
    exchange.responseFields = [("Content-Type", Array("text/event-stream".utf8))]
    var events = #"event: message_start\#ndata: {"type":"message_start","message":{"model":"claude-sonnet-4-5","usage":{"input_tokens":3,"output_tokens":1}}}\#n\#n"#
    for index in 0..<400 {
        events += #"event: content_block_delta\#ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"w\#(index) "}}\#n\#n"#
    }
    let bytes = Array(events.utf8)
    exchange.responseBody = stride(from: 0, to: bytes.count, by: 97).map { Array(bytes[$0..<min(bytes.count, $0 + 97)]) }
    exchange.requestBody = [Array(#"{"model":"claude-sonnet-4-5","stream":true}"#.utf8)]
    return exchange
}

@Test(arguments: [(256 * 1024, 64 << 20), (100, 64 << 20), (256 * 1024, 700), (3000, 500), (20_000, 64 << 20)])
func parkedExchangesWriteTheRecordsTheyWould(window: Int, roll: Int) throws {
    let exchanges = goldenExchanges() + [longStream(id: 90), longStream(id: 91)]
    let plainDirectory = directory(), parkedDirectory = directory()
    defer {
        try? FileManager.default.removeItem(atPath: plainDirectory)
        try? FileManager.default.removeItem(atPath: parkedDirectory)
    }
    let plain = lines(exchanges, bodyMax: 1 << 20, files: BodyFiles(directory: plainDirectory, window: window, instance: 7))
    let files = BodyFiles(directory: parkedDirectory, window: window, instance: 7, spoolRollBytes: roll)
    let parked = lines(exchanges, bodyMax: 1 << 20, files: files, parking: true)
    #expect(parked.count == exchanges.count)
    #expect(parked == plain)
    // Everything parked was read back and released; at most the current spool file is still open.
    #expect(files.spool.parkedBytes == 0)
    #expect(files.spool.generationCount <= 1)
    if roll < 1000 { #expect(files.spool.current > 1, "the spool moved to new files as it grew") }
    // The spool file has no name: nothing of it is left in the directory.
    let left = (try? FileManager.default.contentsOfDirectory(atPath: parkedDirectory)) ?? []
    #expect(left.allSatisfy { !$0.hasPrefix(".spool") })
}

@Test func anExchangeThatCannotBeParkedStaysInMemoryAndLosesNothing() throws {
    // The directory cannot be made (its parent is a file): parking fails, records are still whole.
    let parent = directory()
    FileManager.default.createFile(atPath: parent, contents: Data("x".utf8))
    defer { try? FileManager.default.removeItem(atPath: parent) }
    var warnings: [String] = []
    let files = BodyFiles(directory: parent + "/bodies", instance: 7, warn: { warnings.append($0) })
    let exchanges = [longStream(id: 5)]
    let parked = lines(exchanges, files: files, parking: true)
    #expect(parked == lines(exchanges))
    #expect(files.spool.parkedBytes == 0)
    #expect(!warnings.isEmpty, "the failure was said")
}

@Test func spoolReadsBackWhatItWasGivenBeforeAndAfterItsWrite() throws {
    let path = directory()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let files = BodyFiles(directory: path, instance: 3, spoolRollBytes: 64)
    let spool = files.spool
    let pieces = (0..<40).map { index in (0..<(1 + index * 7)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) } }
    var extents: [SpoolExtent] = []
    for (index, piece) in pieces.enumerated() {
        extents.append(try #require(piece.withUnsafeBytes { spool.park($0) }))
        if index % 3 == 0 { #expect(spool.flush()) }
    }
    #expect(spool.parkedBytes == pieces.reduce(0) { $0 + $1.count })
    // Read back in another order than written: from the files and from what is not written yet.
    for index in pieces.indices.reversed() {
        var out: [UInt8] = [9]
        #expect(spool.take(extents[index], into: &out))
        #expect(out == [9] + pieces[index])
    }
    #expect(spool.parkedBytes == 0)
    #expect(spool.generationCount <= 1, "old spool files closed with their last extent")
    withExtendedLifetime(files) {}
}
