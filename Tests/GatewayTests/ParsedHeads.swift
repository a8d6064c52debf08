// Request heads parsed by the real parser, for the tests that take one.
import HTTP1

/// Keeps the head the parser hands over.
final class HeadReader: HTTPParserDelegate {
    var head = HTTPHead()
    func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict { self.head = head; return .proceed }
    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) {}
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) {}
    func parserChunkComplete(_ parser: HTTPParser) {}
    func parserMessageComplete(_ parser: HTTPParser) -> Bool { true }
}

/// The head of `text`, a whole request head ("\r\n\r\n" included).
func parsedRequestHead(_ text: String) -> HTTPHead {
    let reader = HeadReader()
    let parser = HTTPParser(kind: .request, delegate: reader, maxHeadBytes: 65_536)
    _ = Array(text.utf8).withUnsafeBytes { parser.execute($0) }
    return reader.head
}
