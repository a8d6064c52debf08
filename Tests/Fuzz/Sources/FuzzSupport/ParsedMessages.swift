// What a parser reported, message by message, in a form two parses can be compared by.
import HTTP1

public struct ParsedMessage: Equatable {
    public var method = ""
    public var target = ""
    public var status = 0
    public var fields: [[UInt8]] = []  // "name\0value"
    public var chunked = false
    public var contentLength: UInt64?
    public var body: [UInt8] = []
    public var chunkSizes: [UInt64] = []
    public var head = HTTPHead()

    public static func == (a: ParsedMessage, b: ParsedMessage) -> Bool {
        a.method == b.method && a.target == b.target && a.status == b.status && a.fields == b.fields
            && a.chunked == b.chunked && a.contentLength == b.contentLength && a.body == b.body && a.chunkSizes == b.chunkSizes
    }
}

/// Collects complete messages; a message cut by an error or by the end of input stays out of `messages`.
public final class MessageCollector: HTTPParserDelegate {
    public private(set) var messages: [ParsedMessage] = []
    private var current = ParsedMessage()
    public var verdict: (HTTPHead) -> HeadVerdict = { _ in .proceed }

    public init() {}

    public func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict {
        current = ParsedMessage()
        current.method = String(decoding: head.method.name, as: UTF8.self)
        current.target = head.targetString
        current.status = head.status
        current.fields = head.fields.map { Array(head.bytes[$0.name]) + [0] + Array(head.bytes[$0.value]) }
        current.chunked = head.isChunked
        current.contentLength = head.contentLength
        current.head = head
        return verdict(head)
    }

    public func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) { current.body.append(contentsOf: bytes) }
    public func parserChunkHeader(_ parser: HTTPParser, size: UInt64) { current.chunkSizes.append(size) }
    public func parserChunkComplete(_ parser: HTTPParser) {}
    public func parserMessageComplete(_ parser: HTTPParser) -> Bool {
        messages.append(current)
        current = ParsedMessage()
        return false
    }
}

public enum ParseResult: Equatable {
    case ok
    case failed(ParseError.Kind)
}

/// Parses `input` in the given pieces with a fresh parser; the messages completed and how it ended.
public func parse(_ kind: ParserKind, _ input: [[UInt8]], maxHeadBytes: Int = 64 * 1024,
                  verdict: @escaping (HTTPHead) -> HeadVerdict = { _ in .proceed }) -> ([ParsedMessage], ParseResult) {
    let collector = MessageCollector()
    collector.verdict = verdict
    let parser = HTTPParser(kind: kind, delegate: collector, maxHeadBytes: maxHeadBytes)
    for piece in input {
        let outcome = piece.withUnsafeBytes { parser.execute($0) }
        if case .failed(let error) = outcome {
            return withExtendedLifetime(collector) { (collector.messages, .failed(error.kind)) }
        }
        if case .paused = outcome { violated("the parser paused though no delegate asked it to") }
    }
    return withExtendedLifetime(collector) { (collector.messages, .ok) }
}

/// A chunked body with the given chunk sizes (as kgb frames it towards a peer).
public func chunked(_ body: [UInt8], sizes: [UInt64]) -> [UInt8] {
    var out: [UInt8] = []
    var offset = 0
    for size in sizes where size > 0 {
        withUnsafeTemporaryAllocation(byteCount: 20, alignment: 1) { line in
            let count = ChunkFraming.sizeLine(size, into: line)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[0..<count]))
        }
        out.append(contentsOf: body[offset..<offset + Int(size)])
        out.append(contentsOf: [0x0D, 0x0A])
        offset += Int(size)
    }
    out.append(contentsOf: Array("0\r\n\r\n".utf8))
    return out
}

/// The complete messages in `bytes`, after checking they parse the same whole and cut at `cuts`.
public func messagesParsingAlikeSplit(_ kind: ParserKind, _ bytes: [UInt8], cuts: [Int],
                                      verdict: @escaping (HTTPHead) -> HeadVerdict = { _ in .proceed }) -> [ParsedMessage] {
    let whole = parse(kind, [bytes], maxHeadBytes: 2048, verdict: verdict)
    let split = parse(kind, pieces(bytes, cuts: cuts), maxHeadBytes: 2048, verdict: verdict)
    guard whole.0 == split.0, whole.1 == split.1 else {
        violated("a \(kind) stream parses the same whole and split", "cuts \(cuts): \(whole.1) vs \(split.1)")
    }
    return whole.0
}

/// How kgb passes a message's body on: its Connection options, its framing (chunked with the same boundaries, or a
/// Content-Length) and the framed body bytes.
public func relayed(_ message: ParsedMessage) -> (options: ConnectionOptions, framing: BodyFraming, body: [UInt8]) {
    var options = ConnectionOptions()
    options.collect(from: message.head)
    guard message.chunked else { return (options, .contentLength(UInt64(message.body.count)), message.body) }
    return (options, .chunked, chunked(message.body, sizes: message.chunkSizes))
}
