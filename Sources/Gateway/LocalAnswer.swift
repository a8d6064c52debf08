// An answer kgb wrote itself (an error), read back as a parsed head and body, so that the log records exactly the
// bytes the client got. Failure paths only: it allocates.
import HTTP1

final class LocalAnswer: HTTPParserDelegate {
    private var head: HTTPHead?
    private var body: [UInt8] = []

    static func parse(_ bytes: [UInt8]) -> (HTTPHead, [UInt8])? {
        let reader = LocalAnswer()
        let parser = HTTPParser(kind: .response, delegate: reader)
        _ = bytes.withUnsafeBytes { parser.execute($0) }
        return withExtendedLifetime(reader) { reader.head.map { ($0, reader.body) } }
    }

    func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict {
        self.head = head
        return .proceed
    }
    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) { body.append(contentsOf: bytes) }
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) {}
    func parserChunkComplete(_ parser: HTTPParser) {}
    func parserMessageComplete(_ parser: HTTPParser) -> Bool { false }
}
