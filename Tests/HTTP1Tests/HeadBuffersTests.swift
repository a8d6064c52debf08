// A parser whose head buffers were let go (its exchange went on for long) parses the next message as any other, at
// every split, and the head's verdicts outlive the buffers.
import HTTP1
import Testing

@Test func aParserThatLetItsHeadGoParsesTheNextMessageAtEverySplit() throws {
    let two = Array("GET /a HTTP/1.1\r\nHost: x\r\nX-One: 1\r\n\r\nPOST /b HTTP/1.1\r\nHost: y\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi".utf8)
    for cut in 0...two.count {
        final class Releasing: HTTPParserDelegate {
            var seen: [(target: String, fields: [String])] = []
            var body: [UInt8] = []
            func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict {
                seen.append((head.targetString, head.headerPairs.map { "\($0.0)=\($0.1)" }))
                parser.releaseHeadBuffers()
                return .proceed
            }
            func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) { body.append(contentsOf: bytes) }
            func parserChunkHeader(_ parser: HTTPParser, size: UInt64) {}
            func parserChunkComplete(_ parser: HTTPParser) {}
            func parserMessageComplete(_ parser: HTTPParser) -> Bool { true }
        }
        let releasing = Releasing()
        let parser = HTTPParser(kind: .request, delegate: releasing)
        #expect(feed(parser, two, cuts: [cut]) == nil)
        #expect(releasing.seen.map(\.target) == ["/a", "/b"])
        #expect(releasing.seen.map(\.fields) == [["Host=x", "X-One=1"], ["Host=y", "Content-Length=2", "Connection=close"]])
        #expect(releasing.body == Array("hi".utf8))
        // No buffers held; the verdicts a connection reads at the message's end are still there.
        #expect(parser.head.bytes.capacity == 0 && parser.head.fields.capacity == 0)
        #expect(parser.head.keepAlive == false && parser.head.contentLength == 2)
        withExtendedLifetime(releasing) {}
    }
}
