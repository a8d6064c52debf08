// The record payloads, written as the loop writes them and read as the logger reads them: every field comes back.
@testable import LogRing
import Testing

private func written(_ build: (inout [UInt8]) -> Void) -> [UInt8] {
    var out: [UInt8] = []
    build(&out)
    return out
}

private func raw(_ text: String) -> [UInt8] { Array(text.utf8) }

@Test func startRoundTrips() throws {
    let fields = [("Host", "api.example"), ("X-Api-Key", "sk: with colon"), ("X-Empty", ""), ("X-Obs", "caf\u{e9}")]
    let payload = written { out in
        LogPayload.appendClocks(wallMicros: 1_764_000_000_123_456, monotonicNanos: UInt64.max, into: &out)
        raw("127.0.0.1:5000").withUnsafeBytes { LogPayload.appendLine($0, into: &out) }
        raw("").withUnsafeBytes { LogPayload.appendLine($0, into: &out) }  // rejected before routing: no upstream
        raw("POST").withUnsafeBytes { method in
            raw("/v1/messages?beta=true").withUnsafeBytes { target in
                LogPayload.appendRequestLine(method: method, target: target, versionMajor: 1, versionMinor: 0, into: &out)
            }
        }
        for (name, value) in fields {
            raw(name).withUnsafeBytes { n in raw(value).withUnsafeBytes { LogPayload.appendField(name: n, value: $0, into: &out) } }
        }
    }
    let start = try #require(payload.withUnsafeBytes { LogPayload.Start($0) })
    #expect(start.wallMicros == 1_764_000_000_123_456)
    #expect(start.monotonicNanos == UInt64.max)
    #expect(start.client == "127.0.0.1:5000")
    #expect(start.upstream == "")
    #expect((start.method, start.target, start.version) == ("POST", "/v1/messages?beta=true", "HTTP/1.0"))
    #expect(start.fields == fields.map { LogPayload.Field(name: $0.0, value: $0.1) })
}

@Test func aTruncatedStartIsNotAStart() {
    var payload = written { LogPayload.appendClocks(wallMicros: 1, monotonicNanos: 2, into: &$0) }
    payload += raw("client\n")
    #expect(payload.withUnsafeBytes { LogPayload.Start($0) } == nil)
    #expect(raw("1\n2\nclient\nup\nGET / HTTP/1.1\n").withUnsafeBytes { LogPayload.Start($0) } == nil,
            "shorter than the clocks' 16 bytes")
}

@Test(arguments: [(200, "OK"), (404, ""), (599, "Reason With Spaces"), (100, "Continue")])
func responseHeadRoundTrips(_ status: Int, _ reason: String) {
    let payload = written { out in
        raw(reason).withUnsafeBytes { LogPayload.appendStatusLine(status, reason: $0, into: &out) }
        raw("Content-Type").withUnsafeBytes { n in raw("text/event-stream").withUnsafeBytes { LogPayload.appendField(name: n, value: $0, into: &out) } }
    }
    let head = payload.withUnsafeBytes { LogPayload.ResponseHead($0) }
    #expect(head.status == status)
    #expect(head.reason == reason)
    #expect(head.fields == [LogPayload.Field(name: "Content-Type", value: "text/event-stream")])
}

@Test func endRoundTripsEveryKey() {
    var figures = LogPayload.EndFigures()
    let texts: [LogPayload.EndKey] = [.outcome, .error, .upstream, .attempt]
    for (index, key) in LogPayload.EndKey.allCases.enumerated() where !texts.contains(key) {
        figures.set(key, key == .droppedBytes ? UInt64.max - 99 : UInt64(index) * 1_000_003)
    }
    let payload = written { out in
        figures.append(into: &out)
        LogPayload.appendEntry(.outcome, "upstream_error", into: &out)
        LogPayload.appendEntry(.error, "line one\nline two = three", into: &out)
        LogPayload.appendEntry(.upstream, "http://second:8080", into: &out)
        LogPayload.appendEntry(.attempt, "529\t1500000\thttp://first:8080\t", into: &out)
        LogPayload.appendEntry(.attempt, "0\t20\thttp://zeroth:8080\tcannot connect: refused\tagain", into: &out)
    }
    let end = payload.withUnsafeBytes { LogPayload.End($0) }
    #expect(end.outcome == "upstream_error")
    #expect(end.error == "line one line two = three", "a newline in a message becomes a space; '=' stays")
    #expect(end.figures == figures)
    for key in LogPayload.EndKey.allCases where !texts.contains(key) {
        #expect(end[key] == figures[key] && end[key] != nil, "\(key)")
    }
    #expect(end.upstream == "http://second:8080")
    #expect(end.attempts == [
        LogPayload.End.Attempt(upstream: "http://first:8080", status: 529, error: nil, nanos: 1_500_000),
        LogPayload.End.Attempt(upstream: "http://zeroth:8080", status: nil, error: "cannot connect: refused\tagain", nanos: 20),
    ], "attempts keep their order; an error may hold a tab")
}

@Test func bodyKeepsItsReadTimeAndBytes() {
    var stamp = LogPayload.bodyStamp(0x0102_0304_0506_0708)
    let payload = withUnsafeBytes(of: &stamp) { Array($0) } + [0, 1, 0xFF, 0x0A]
    payload.withUnsafeBytes { bytes in
        let body = LogPayload.Body(bytes)
        #expect(body.readAt == 0x0102_0304_0506_0708)
        #expect(Array(body.bytes) == [0, 1, 0xFF, 0x0A])
    }
}

@Test func absentFiguresStayAbsent() {
    var figures = LogPayload.EndFigures()
    figures.set(.totalNanos, 0)
    figures.set(.outcome, 5)  // a text key: not a figure
    let payload = written { figures.append(into: &$0) }
    #expect(payload.count == LogPayload.EndFigures.byteCount)
    let end = payload.withUnsafeBytes { LogPayload.End($0) }
    #expect(end[.totalNanos] == 0, "a present zero is a zero")
    #expect(end[.tlsNanos] == nil && end[.agent] == nil && end[.droppedBytes] == nil, "absent figures are nil, not 0")
    #expect(end.outcome == "complete")
}

@Test(arguments: [UInt64(0), 1, 9, 10, 99, 100, 1_000_000, UInt64(Int64.max), UInt64.max])
func statusAndVersionNumbersAreDecimal(_ value: UInt64) {
    let payload = written { LogPayload.appendDecimal(value, into: &$0) }
    #expect(payload == raw("\(value)"))
}
