// The request and response parsers, fed whole and split at every byte offset (llhttp's "scan" idea): the
// events a connection sees must not depend on how TCP cut the bytes.
import HTTP1
import Testing

/// Records what a parser reports, as a connection would see it.
final class Recorder: HTTPParserDelegate {
    var heads: [(target: String, status: Int, fields: [(String, String)], chunked: Bool, length: UInt64?, keepAlive: Bool)] = []
    var body: [UInt8] = []
    var chunkSizes: [UInt64] = []
    var chunkEnds = 0
    var messages = 0
    var skipBody = false
    var pauseAtEnd = false
    /// Each head's fields as `name: value\n` lines (HTTPHead.fieldLines).
    var fieldLines: [String] = []

    func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict {
        heads.append((head.targetString, head.status, head.headerPairs, head.isChunked, head.contentLength, head.keepAlive))
        fieldLines.append(head.string(head.fieldLines))
        return skipBody ? .skipBody : .proceed
    }
    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) { body.append(contentsOf: bytes) }
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) { chunkSizes.append(size) }
    func parserChunkComplete(_ parser: HTTPParser) { chunkEnds += 1 }
    func parserMessageComplete(_ parser: HTTPParser) -> Bool { messages += 1; return pauseAtEnd }
}

/// Feeds `input` in pieces cut at `cuts`, resuming after pauses; returns the failure, if any.
@discardableResult
func feed(_ parser: HTTPParser, _ input: [UInt8], cuts: [Int]) -> ParseError? {
    var start = 0
    for end in cuts + [input.count] where end >= start {
        var piece = Array(input[start..<end])
        while !piece.isEmpty {
            let outcome = piece.withUnsafeBytes { parser.execute($0) }
            switch outcome {
            case .consumed: piece = []
            case .paused(let consumed):
                parser.resume()
                piece = Array(piece[consumed...])
            case .failed(let error): return error
            }
        }
        start = end
    }
    return nil
}

let chunkedRequest = Array("""
POST /v1/messages?beta=true HTTP/1.1\r
Host: api.example\r
Transfer-Encoding: chunked\r
X-Api-Key: secret\r
\r
5\r
hello\r
1a\r
abcdefghijklmnopqrstuvwxyz\r
0\r
Trailer-Field: t\r
\r

""".utf8)

@Test func chunkedRequestParsesIdenticallyAtEverySplit() throws {
    for cut in 0...chunkedRequest.count {
        let recorder = Recorder()
        let parser = HTTPParser(kind: .request, delegate: recorder)
        #expect(feed(parser, chunkedRequest, cuts: [cut]) == nil, "cut at \(cut)")
        #expect(recorder.messages == 1)
        let head = try #require(recorder.heads.first)
        #expect(head.target == "/v1/messages?beta=true")
        #expect(head.fields.map(\.0) == ["Host", "Transfer-Encoding", "X-Api-Key"], "trailers stay out of the head")
        #expect(head.fields.map(\.1) == ["api.example", "chunked", "secret"])
        #expect(head.chunked)
        #expect(String(decoding: recorder.body, as: UTF8.self) == "helloabcdefghijklmnopqrstuvwxyz")
        #expect(recorder.chunkSizes == [5, 26, 0])
        #expect(recorder.fieldLines == ["Host: api.example\nTransfer-Encoding: chunked\nX-Api-Key: secret\n"], "cut at \(cut)")
        withExtendedLifetime(recorder) {}
    }
}

@Test func fieldLinesHoldEveryFieldAsTheLogRecordsIt() throws {
    // An empty value, spaces around a value (llhttp drops those before it), a folded line, and a head without
    // fields.
    let request = Array("GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Spaced:   a b  \r\nX-A: 1\r\n 2\r\n\r\nGET /b HTTP/1.0\r\n\r\n".utf8)
    for cut in 0...request.count {
        let recorder = Recorder()
        let parser = HTTPParser(kind: .request, delegate: recorder)
        #expect(feed(parser, request, cuts: [cut]) == nil)
        #expect(recorder.fieldLines == ["Host: x\nX-Empty: \nX-Spaced: a b  \nX-A: 1 2\n", ""], "cut at \(cut)")
        withExtendedLifetime(recorder) {}
    }
}

@Test func pipelinedRequestsPauseAtEachEnd() throws {
    let two = Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
    for cut in 0...two.count {
        let recorder = Recorder()
        recorder.pauseAtEnd = true
        let parser = HTTPParser(kind: .request, delegate: recorder)
        #expect(feed(parser, two, cuts: [cut]) == nil)
        #expect(recorder.heads.map(\.target) == ["/a", "/b"])
        #expect(recorder.heads.map(\.keepAlive) == [true, false])
        withExtendedLifetime(recorder) {}
    }
}

@Test func responseFramings() throws {
    let lengthResponse = Array("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc".utf8)
    let recorder = Recorder()
    let parser = HTTPParser(kind: .response, delegate: recorder)
    #expect(feed(parser, lengthResponse, cuts: []) == nil)
    #expect(recorder.heads.first?.length == 3)
    #expect(recorder.heads.first?.target == "OK")
    #expect(recorder.body == Array("abc".utf8))

    // Close-delimited: the body ends at finish().
    let closeDelimited = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nstream".utf8)
    let recorder2 = Recorder()
    recorder2.pauseAtEnd = true
    let parser2 = HTTPParser(kind: .response, delegate: recorder2)
    #expect(feed(parser2, closeDelimited, cuts: [20]) == nil)
    #expect(parser2.needsEOF)
    #expect(recorder2.messages == 0)
    guard case .paused = parser2.finish() else { Issue.record("finish should complete the message"); return }
    #expect(recorder2.messages == 1)
    #expect(recorder2.body == Array("stream".utf8))

    // A truncated Content-Length body is an error at finish().
    let truncated = Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8)
    let recorder3 = Recorder()
    let parser3 = HTTPParser(kind: .response, delegate: recorder3)
    #expect(feed(parser3, truncated, cuts: []) == nil)
    guard case .failed = parser3.finish() else { Issue.record("truncated body must fail"); return }
    withExtendedLifetime([recorder, recorder2, recorder3]) {}
}

@Test func headResponseSkipsBody() {
    let recorder = Recorder()
    recorder.skipBody = true
    let parser = HTTPParser(kind: .response, delegate: recorder)
    let input = Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n".utf8)
    #expect(feed(parser, input, cuts: []) == nil)
    #expect(recorder.messages == 2)
    #expect(recorder.body.isEmpty)
    withExtendedLifetime(recorder) {}
}

@Test(arguments: [
    "GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    "GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n",
])
func malformedRequestsFail(_ text: String) {
    let recorder = Recorder()
    let parser = HTTPParser(kind: .request, delegate: recorder)
    let error = feed(parser, Array(text.utf8), cuts: [])
    #expect(error?.kind == .malformed)
    withExtendedLifetime(recorder) {}
}

@Test func obsoleteLineFoldingBecomesASpace() throws {
    // Forwarding the fold's CRLF would let one header smuggle in another; llhttp joins the lines instead.
    let recorder = Recorder()
    let parser = HTTPParser(kind: .request, delegate: recorder)
    #expect(feed(parser, Array("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n Smuggled: y\r\n\r\n".utf8), cuts: []) == nil)
    let fields = try #require(recorder.heads.first).fields
    #expect(fields.map(\.0) == ["Host", "X-A"])
    #expect(fields[1].1 == "1 Smuggled: y")
    withExtendedLifetime(recorder) {}
}

@Test func headLimitIsEnforcedWhileParsing() {
    let recorder = Recorder()
    let parser = HTTPParser(kind: .request, delegate: recorder, maxHeadBytes: 1024)
    let big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 2000) + "\r\n\r\n"
    // Fed in small pieces: the limit must trip before the whole head is buffered.
    let cuts = Array(stride(from: 100, to: big.utf8.count, by: 100))
    #expect(feed(parser, Array(big.utf8), cuts: cuts)?.kind == .headTooLarge)
    withExtendedLifetime(recorder) {}
}

// MARK: Chunk extensions (RFC 9112 §7.1.1): valid ones pass at any split, everything else fails closed.

/// A chunked response whose first size line is `line` (without its CRLF), then "hello", then the last chunk.
func chunkedResponse(firstSizeLine line: String, lastSizeLine last: String = "0") -> [UInt8] {
    Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(line)\r\nhello\r\n\(last)\r\n\r\n".utf8)
}

@Test(arguments: [
    "5", "005", "5;q=\"a\\\"b\"", "5 ;x=y", "5;x = \"y\"", "5\t;\tx\t=\ty", "5;a;b=c;d=\"\"", "5;x=\"\\\\\"",
    "5;x=\"sp ace\\\ttab\"", "5 ; x ; y = z",
])
func validChunkExtensionsAreSkippedAtEverySplit(_ line: String) throws {
    let input = chunkedResponse(firstSizeLine: line, lastSizeLine: "0;end=\"yes\"")
    for cut in 0...input.count {
        let recorder = Recorder()
        let parser = HTTPParser(kind: .response, delegate: recorder)
        #expect(feed(parser, input, cuts: [cut]) == nil, "\(line) cut at \(cut)")
        #expect(recorder.body == Array("hello".utf8), "\(line) cut at \(cut)")
        #expect(recorder.chunkSizes == [5, 0])
        #expect(recorder.chunkEnds == 2)
        #expect(recorder.messages == 1)
        withExtendedLifetime(recorder) {}
    }
}

@Test(arguments: [
    "5 ", "5;", "5;=y", "5;x=", "5;x=\"y", "5;x=\"a\u{7f}\"", "5;x=y z", "5;x y", "5=x", " 5", "x5", "",
    "5;x=\"y\"z", "5;x=\"y\" ", "5\u{0}", "5;x=\"\u{1}\"", "5;(x)", "5,x", "5;x=\"\\\u{1}\"",
    "10000000000000000",
])
func invalidChunkSizeLinesFail(_ line: String) {
    let recorder = Recorder()
    let parser = HTTPParser(kind: .response, delegate: recorder)
    let error = feed(parser, chunkedResponse(firstSizeLine: line), cuts: [])
    #expect(error?.kind == .malformed, "\(line.debugDescription) must fail")
    #expect(recorder.body.isEmpty)
    withExtendedLifetime(recorder) {}
}

@Test func bareLineFeedAfterChunkSizeFails() {
    let recorder = Recorder()
    let parser = HTTPParser(kind: .response, delegate: recorder)
    let input = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n".utf8)
    #expect(feed(parser, input, cuts: [])?.kind == .malformed)
    withExtendedLifetime(recorder) {}
}

@Test func overlongChunkExtensionsFail() {
    let recorder = Recorder()
    let parser = HTTPParser(kind: .response, delegate: recorder)
    let line = "5;x=" + String(repeating: "a", count: ChunkSizeLine.maxLength)
    #expect(feed(parser, chunkedResponse(firstSizeLine: line), cuts: [100, 2000])?.kind == .malformed)
    withExtendedLifetime(recorder) {}
}

@Test func chunkExtensionsInRequestsToo() {
    let recorder = Recorder()
    let parser = HTTPParser(kind: .request, delegate: recorder)
    let input = Array("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3 ; a=\"b\\\"\"\r\nabc\r\n0\r\n\r\n".utf8)
    #expect(feed(parser, input, cuts: []) == nil)
    #expect(recorder.body == Array("abc".utf8))
    #expect(recorder.messages == 1)
    withExtendedLifetime(recorder) {}
}

@Test func closeInsideASizeLineIsATruncation() {
    let recorder = Recorder()
    let parser = HTTPParser(kind: .response, delegate: recorder)
    #expect(feed(parser, Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=".utf8), cuts: []) == nil)
    guard case .failed = parser.finish() else { Issue.record("a close inside a size line must fail"); return }
    withExtendedLifetime(recorder) {}
}

@Test func pipelinedChunkedResponsesKeepTheirBoundaries() {
    // The size-line reader must hand over to llhttp exactly at each message's end.
    let first = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a=b\r\nab\r\n0\r\n\r\n"
    let second = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 ; a=\"b\"\r\ncd\r\n0\r\n\r\n"
    let input = Array((first + second).utf8)
    for cut in 0...input.count {
        let recorder = Recorder()
        recorder.pauseAtEnd = true
        let parser = HTTPParser(kind: .response, delegate: recorder)
        #expect(feed(parser, input, cuts: [cut]) == nil)
        #expect(recorder.messages == 2)
        #expect(recorder.body == Array("abcd".utf8))
        withExtendedLifetime(recorder) {}
    }
}

// MARK: Status codes outside 100-599 are never relayed (one below 100 looked like an interim response).

@Test(arguments: ["000", "020", "099", "600", "999"])
func statusOutsideTheFiveClassesFails(_ status: String) {
    let recorder = Recorder()
    let parser = HTTPParser(kind: .response, delegate: recorder)
    let error = feed(parser, Array("HTTP/1.1 \(status) OK\r\nContent-Length: 0\r\n\r\n".utf8), cuts: [])
    #expect(error?.kind == .malformed)
    #expect(error?.reason.contains("invalid status code") == true)
    #expect(recorder.heads.isEmpty, "the delegate never sees the head")
    withExtendedLifetime(recorder) {}
}

@Test(arguments: ["100", "199", "200", "299", "599"])
func statusInsideTheFiveClassesParses(_ status: String) {
    let recorder = Recorder()
    let parser = HTTPParser(kind: .response, delegate: recorder)
    #expect(feed(parser, Array("HTTP/1.1 \(status) X\r\nContent-Length: 0\r\n\r\n".utf8), cuts: []) == nil)
    #expect(recorder.heads.first?.status == Int(status))
    withExtendedLifetime(recorder) {}
}

@Test func aHeadCutShortShowsWhatWasReadOfIt() {
    // A bad field fails the head after its request line: the target is there to record, at every split.
    let input = Array("POST /v1/messages?x=1 HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n".utf8)
    for cut in 0...input.count {
        let recorder = Recorder()
        let parser = HTTPParser(kind: .request, delegate: recorder)
        let error = feed(parser, input, cuts: [cut])
        #expect(error?.kind == .malformed)
        #expect(parser.head.targetString == "/v1/messages?x=1", "cut at \(cut)")
        #expect(parser.head.method == .post)
        withExtendedLifetime(recorder) {}
    }
    // A head still arriving: what came so far.
    let recorder = Recorder()
    let parser = HTTPParser(kind: .request, delegate: recorder)
    #expect(feed(parser, Array("GET /partial HTTP/1.1\r\nHost: a\r\n".utf8), cuts: []) == nil)
    #expect(parser.head.targetString == "/partial")
    withExtendedLifetime(recorder) {}
}
