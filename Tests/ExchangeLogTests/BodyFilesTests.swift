// Bodies past the logger's memory window: spilled to a file as they arrive, written into the line as before when short
// enough to read back (byte for byte the line an all-in-memory logger writes), else left in a file the record names.
@testable import ExchangeLog
import Foundation
import Testing

private func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "kgb-bodies-\(UInt64.random(in: 0...UInt64.max))"
    return path
}

private func answer(_ body: [UInt8], contentType: String = "application/octet-stream", pieces: Int = 7) -> RingExchange {
    var exchange = RingExchange()
    exchange.responseFields = [("Content-Type", Array(contentType.utf8))]
    let size = max(1, (body.count + pieces - 1) / pieces)
    exchange.responseBody = stride(from: 0, to: body.count, by: size).map { Array(body[$0..<min(body.count, $0 + size)]) }
    exchange.requestBody = [Array(repeating: UInt8(ascii: "q"), count: 300)]
    return exchange
}

private func record(_ line: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
}

@Test func aSpilledBodyShortEnoughIsInTheLineAsBefore() throws {
    let directory = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let files = BodyFiles(directory: directory, inlineMax: 1000, window: 100, instance: 1)
    let text = Array(String(repeating: "é\"line\"\n", count: 60).utf8)  // 600 bytes: spilled, then read back
    let binary = (0..<900).map { UInt8($0 % 251) }
    let json = Array(#"{"type":"message","model":"claude-sonnet-4-5","content":[{"type":"text","text":"\#(String(repeating: "w ", count: 200))"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":4}}"#.utf8)
    let exchanges = [answer(text, contentType: "text/plain"), answer(binary), answer(json, contentType: "application/json")]
        .enumerated().map { index, exchange in var e = exchange; e.id = UInt64(index + 1); return e }
    let spilled = lines(exchanges, files: files)
    #expect(spilled == lines(exchanges), "the same bytes as with every body in memory")
    #expect(try record(spilled[2])["usage"] != nil, "the usage is read from the file")
    #expect((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] == [], "no file left behind")
}

@Test func aLongBodyStaysInItsFileAndTheRecordNamesIt() throws {
    let directory = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let files = BodyFiles(directory: directory, inlineMax: 1000, window: 100, instance: 1)
    let body = (0..<5000).map { UInt8($0 % 251) }
    var exchange = answer(body, pieces: 13)
    exchange.requestBody = [Array(repeating: UInt8(ascii: "q"), count: 1500)]
    let line = try #require(lines([exchange], bodyMax: 4500, files: files).first)
    let parsed = try record(line)
    let response = try #require(parsed["response"] as? [String: Any])
    let reference = try #require(response["body"] as? [String: Any])
    let path = try #require(reference["file"] as? String)
    #expect(reference["bytes"] as? Int == 4500)
    #expect(path == "\(directory)/\(try #require(parsed["id"] as? String)).response")
    #expect(FileManager.default.contents(atPath: path) == Data(body.prefix(4500)), "the kept bytes, exactly")
    #expect(response["truncated"] as? Bool == true && response["body_bytes"] as? Int == 5000)
    let request = try #require(parsed["request"] as? [String: Any])
    let requestFile = try #require((request["body"] as? [String: Any])?["file"] as? String)
    #expect(FileManager.default.contents(atPath: requestFile) == Data(repeating: UInt8(ascii: "q"), count: 1500))
    let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    #expect(names.count == 2 && !names.contains { $0.hasPrefix(".spill") }, "\(names)")
}

@Test func withoutADirectoryEveryBodyStaysInMemoryAndInline() throws {
    let body = (0..<5000).map { UInt8($0 % 251) }
    let line = try #require(lines([answer(body)]).first)
    let response = try #require(try record(line)["response"] as? [String: Any])
    #expect((response["body"] as? [String: Any])?["base64"] != nil)
}
