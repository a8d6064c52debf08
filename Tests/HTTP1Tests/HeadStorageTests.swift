// Parsers that lend their head buffers back between messages: the heads their delegates see are the same at every
// split, and a parser holds no head buffers once its delegate has seen the head.
import HTTP1
import Testing

@Test func parsersWithSharedStorageSeeTheSameHeadsAtEverySplit() throws {
    let two = Array("GET /a HTTP/1.1\r\nHost: x\r\nX-One: 1\r\n\r\nPOST /b HTTP/1.1\r\nHost: y\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi".utf8)
    let storage = HeadStorage()
    for cut in 0...two.count {
        let plain = Recorder(), lending = Recorder()
        plain.pauseAtEnd = true
        lending.pauseAtEnd = true
        let reference = HTTPParser(kind: .request, delegate: plain)
        let parser = HTTPParser(kind: .request, delegate: lending, storage: storage)
        #expect(feed(reference, two, cuts: [cut]) == nil)
        #expect(feed(parser, two, cuts: [cut]) == nil)
        #expect(lending.heads.map(\.target) == ["/a", "/b"])
        #expect(lending.heads.map { $0.fields.map { "\($0.0)=\($0.1)" } } == plain.heads.map { $0.fields.map { "\($0.0)=\($0.1)" } })
        #expect(lending.body == Array("hi".utf8))
        // After the head: no buffers held, the head's verdicts kept (the connection reads keepAlive at the end).
        #expect(parser.head.bytes.capacity == 0 && parser.head.fields.capacity == 0)
        #expect(parser.head.keepAlive == false && parser.head.contentLength == 2)
        withExtendedLifetime((plain, lending)) {}
    }
    // Every message returned its buffers, and later ones took them again: one spare pair is all that is left.
    #expect(storage.spares == 1)
}

@Test func aRejectedHeadKeepsItsBuffersForTheReporter() {
    final class Refuser: HTTPParserDelegate {
        var seen = ""
        func parserHeadComplete(_ parser: HTTPParser) -> HeadVerdict { .reject }
        func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) {}
        func parserChunkHeader(_ parser: HTTPParser, size: UInt64) {}
        func parserChunkComplete(_ parser: HTTPParser) {}
        func parserMessageComplete(_ parser: HTTPParser) -> Bool { false }
    }
    let refuser = Refuser()
    let parser = HTTPParser(kind: .request, delegate: refuser, storage: HeadStorage())
    let input = Array("GET /refused HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
    #expect(feed(parser, input, cuts: []) != nil)
    // The connection reports a refused request with its head (the record names the target).
    #expect(parser.head.targetString == "/refused")
    withExtendedLifetime(refuser) {}
}
