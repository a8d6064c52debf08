// The exchange record, end to end: the loop side (ExchangeRecorder) writes an exchange's start, bodies, response
// head and end into a real LogRing, and the logger side (RecordAssembler) turns them into the JSON line. Properties:
// exactly one line per exchange; it is valid JSON; the method, path, header, outcome and error read back as given;
// each body reads back byte for byte (a string when UTF-8, else base64); the API key never appears, only its
// fingerprint.
import Foundation
import FuzzSupport
@testable import Gateway
import HTTP1
import LogRing
import UV
@testable import ExchangeLog

private struct Pipeline: @unchecked Sendable {
    let loop = EventLoop()
    let ring = LogRing(capacity: 1 << 20)
    let recorder: ExchangeRecorder
    let assembler = RecordAssembler(bodyMax: 1 << 20, fingerprint: Fingerprint(key: Array("fuzz".utf8)), instance: 1)
    init() { recorder = ExchangeRecorder(loop: loop, ring: ring, wakeup: LogWakeup(), policy: .pause) }
}

private let pipeline = Pipeline()
nonisolated(unsafe) private var nextID: UInt64 = 0

private let contentTypes = ["application/json", "text/event-stream", "text/plain", "application/octet-stream"]
private let outcomes: [Outcome] = [.complete, .clientAborted, .upstreamError, .upstreamTimeout, .rejected]
private let secret = "sk-fuzz-secret-0123456789"

func fuzzRecordAssembler(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let path = "/" + String(decoding: take(&input, input.below(64)).map { pathBytes[Int($0) % pathBytes.count] }, as: UTF8.self)
    // A header value: visible ASCII and obs-text, no whitespace (which the parser would trim).
    let value = take(&input, input.below(64)).map { $0 < 0x21 || $0 == 0x7F ? UInt8(ascii: "_") : $0 }
    let contentType = contentTypes[Int(input.byte()) % contentTypes.count]
    let outcome = outcomes[Int(input.byte()) % outcomes.count]
    let error = input.byte() & 1 == 1 ? String(decoding: take(&input, input.below(32)), as: UTF8.self) : nil
    let requestBody = take(&input, input.below(2048))
    let requestCuts = [input.below(2048), input.below(2048)]
    let responseCuts = [input.below(4096), input.below(4096)]
    let responseBody = input.rest

    let request = head(.request, Array("POST \(path) HTTP/1.1\r\nHost: h\r\nX-Fuzz: ".utf8) + value
                       + Array("\r\nX-Api-Key: \(secret)\r\n\r\n".utf8))
    let response = head(.response, Array("HTTP/1.1 200 OK\r\nContent-Type: \(contentType)\r\nContent-Length: 0\r\n\r\n".utf8))
    nextID += 1
    let id = nextID
    let recorder = pipeline.recorder
    recorder.exchangeStarted(id, client: "127.0.0.1:1", upstream: Array("http://up".utf8), request: request)
    for piece in pieces(requestBody, cuts: requestCuts) { _ = piece.withUnsafeBytes { recorder.requestBody(id, $0) } }
    recorder.responseHead(id, response)
    for piece in pieces(responseBody, cuts: responseCuts) { _ = piece.withUnsafeBytes { recorder.responseBody(id, $0) } }
    var timing = ExchangeTiming()
    timing.started = 1_000
    timing.responseHead = 2_000
    timing.ended = 3_000
    timing.requestBodyBytes = UInt64(requestBody.count)
    timing.responseBodyBytes = UInt64(responseBody.count)
    recorder.exchangeEnded(id, ExchangeEnd(outcome: outcome, error: error, timing: timing))

    var lines: [[UInt8]] = []
    _ = pipeline.ring.consume { record in if let line = pipeline.assembler.apply(record) { lines.append(line) } }
    guard lines.count == 1, let line = lines.first, line.last == 0x0A else { violated("one line per exchange", "\(lines.count)") }
    guard let record = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
        violated("the record is valid JSON", String(decoding: line, as: UTF8.self))
    }
    guard record["method"] as? String == "POST", record["path"] as? String == path else { violated("method and path") }
    // The end record is "key=value" lines: a newline inside the error message becomes a space.
    let expectedError = error.map { String(decoding: $0.utf8.map { $0 == 0x0A ? 0x20 : $0 }, as: UTF8.self) }
    guard record["outcome"] as? String == outcome.rawValue, record["error"] as? String == expectedError else {
        violated("outcome and error", "\(String(describing: record["error"])) vs \(String(describing: expectedError))")
    }
    guard let requestPart = record["request"] as? [String: Any], let headers = requestPart["headers"] as? [String: Any],
          headers["x-fuzz"] as? String == String(decoding: value, as: UTF8.self) else { violated("a header reads back") }
    guard (headers["x-api-key"] as? String)?.hasPrefix("sha256:") == true,
          !String(decoding: line, as: UTF8.self).contains(secret) else { violated("the key is fingerprinted, never written") }
    guard body(requestPart["body"]) == requestBody else { violated("the request body reads back byte for byte") }
    guard let responsePart = record["response"] as? [String: Any], body(responsePart["body"]) == responseBody else {
        violated("the response body reads back byte for byte")
    }
    return 0
}

private let pathBytes = Array("abcxyz019-._~/%?=&".utf8)

private func take(_ input: inout FuzzInput, _ count: Int) -> [UInt8] { (0..<count).map { _ in input.byte() } }

private func head(_ kind: ParserKind, _ bytes: [UInt8]) -> HTTPHead {
    let (messages, result) = parse(kind, [bytes])
    guard result == .ok, let head = messages.first?.head else { violated("the test's own head parses", String(decoding: bytes, as: UTF8.self)) }
    return head
}

private func body(_ value: Any?) -> [UInt8]? {
    if let text = value as? String { return Array(text.utf8) }
    if let object = value as? [String: Any], let base64 = object["base64"] as? String, let data = Data(base64Encoded: base64) {
        return Array(data)
    }
    return nil
}
