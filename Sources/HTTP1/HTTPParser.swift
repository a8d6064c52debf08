// An incremental HTTP/1.x parser over llhttp, strict mode (obs-fold is replaced by SP, as RFC 9112 §5.2 allows). It assembles the head from span callbacks and hands
// body fragments, chunk boundaries and message ends to its delegate as they are parsed, without buffering.
internal import CLLHTTP
import Bytes

public enum HeadVerdict {
    case proceed
    /// The message has no body whatever its headers say (a response to HEAD, say).
    case skipBody
    /// Stop: `execute` fails (the delegate keeps the reason).
    case reject
}

/// The delegate of a parser not yet given its own: it rejects whatever comes.
private final class Unattached: HTTPParserDelegate, Sendable {
    static let shared = Unattached()
    func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict { .reject }
    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) {}
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) {}
    func parserChunkComplete(_ parser: HTTPParser) {}
    func parserMessageComplete(_ parser: HTTPParser) -> Bool { true }
}

public protocol HTTPParserDelegate: AnyObject {
    /// The head, handed over borrowed. `parser.head` reads empty during this call (the head is moved out to be handed
    /// over without a copy); it is the head again from the next callback on.
    func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict
    /// A fragment of the (de-chunked) body; valid only during the call.
    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer)
    /// A chunk of `size` bytes starts (0: the last chunk).
    func parserChunkHeader(_ parser: HTTPParser, size: UInt64)
    func parserChunkComplete(_ parser: HTTPParser)
    /// The message ended. Return true to pause the parser here (the bytes after it are left unparsed).
    func parserMessageComplete(_ parser: HTTPParser) -> Bool
}

public struct ParseError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case malformed, headTooLarge }
    public let kind: Kind
    public let reason: String
    public var description: String { reason }
}

public enum ParseOutcome {
    /// Every byte was consumed.
    case consumed
    /// The parser paused after `consumed` bytes (a message ended and the delegate asked to pause).
    case paused(consumed: Int)
    case failed(ParseError)
}

public enum ParserKind { case request, response }

/// Owned by one connection, on its loop thread. `delegate` is unowned: the owner outlives its parser.
public final class HTTPParser {
    private var state = llhttp_t()
    public unowned(unsafe) var delegate: HTTPParserDelegate
    public fileprivate(set) var head = HTTPHead()
    /// The head's bytes while it is being parsed; `head.bytes` gets them when the head is complete.
    private var staging = OwnedBytes()
    /// The largest head accepted; larger heads fail with `.headTooLarge` (431 for requests).
    public var maxHeadBytes: Int

    private var spanStart = 0
    private var headBytesSeen = 0
    private var inTrailers = false
    private var headTooLarge = false
    public private(set) var isPaused = false
    /// True between the first byte of a message and its end.
    public private(set) var isInMessage = false

    private let kind: ParserKind
    /// A rule of ours that the message broke (llhttp only sees "callback error").
    private var protocolViolation: String?

    /// Where the parser is relative to a chunk-size line, which this type reads itself (see ChunkSizeLine).
    private enum SizeLinePhase {
        case none
        /// llhttp paused (from a callback) just before a size line, inside the bytes being parsed.
        case pausedBefore
        /// A size line starts with the next bytes `execute` is given (llhttp is waiting for it).
        case atNextInput
        /// The line is being read here; it may span reads.
        case reading
    }
    private var sizeLinePhase = SizeLinePhase.none
    private var sizeLine = ChunkSizeLine()
    private var currentChunkSize: UInt64 = 0
    /// The end of the bytes llhttp is parsing, and of the last body span it reported from them: after a chunk's
    /// data and CRLF, the next size line starts at `bodyEnd + 2` (when both are in the same bytes).
    private var inputEnd: UnsafeRawPointer?
    private var bodyEnd: UnsafeRawPointer?

    public init(kind: ParserKind, delegate: HTTPParserDelegate, maxHeadBytes: Int = 64 * 1024) {
        self.delegate = delegate
        self.maxHeadBytes = maxHeadBytes
        self.kind = kind
        withUnsafeMutablePointer(to: &state) { parser in
            llhttp_init(parser, kind == .request ? HTTP_REQUEST : HTTP_RESPONSE, &parserSettings)
        }
    }

    /// A parser whose delegate is set later (`delegate = owner` once the owner exists), so that an owner can hold
    /// it in a `let`: an owner's `var` or implicitly unwrapped reference is retained and released around every use.
    /// Until then it parses nothing.
    public convenience init(kind: ParserKind, maxHeadBytes: Int = 64 * 1024) {
        self.init(kind: kind, delegate: Unattached.shared, maxHeadBytes: maxHeadBytes)
    }

    /// Runs `body` on the parser behind llhttp's pointer without a retain and release around it: the parser is
    /// alive for as long as it executes (its owner holds it), and a retain pair per callback (a dozen per exchange,
    /// one per span of the head) was the largest single source of atomic reference counting on the loop.
    @inline(__always)
    fileprivate static func with<R>(_ parser: UnsafeMutablePointer<llhttp_t>?, _ body: (HTTPParser) -> R) -> R {
        Unmanaged<HTTPParser>.fromOpaque(parser!.pointee.data)._withUnsafeGuaranteedRef(body)
    }

    /// Parses `bytes`. After `.paused`, call `resume()` before feeding the unconsumed rest.
    public func execute(_ bytes: UnsafeRawBufferPointer) -> ParseOutcome {
        precondition(!isPaused, "execute while paused")
        // A head cut short (by a parse error, or by the end of these bytes) shows what was read of it, as one whole
        // would: a rejected request is recorded with its method and target.
        defer { if staging.count > head.bytes.count { publishStaged() } }
        var offset = 0
        if sizeLinePhase == .atNextInput { sizeLineStarts(bytes) }
        while true {
            if sizeLinePhase == .reading {
                switch sizeLine.scan(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
                case .needMore:
                    return .consumed
                case .invalid(let reason):
                    return .failed(ParseError(kind: .malformed, reason: reason))
                case .complete(let consumed, let size):
                    offset += consumed
                    sizeLinePhase = .none
                    if case .failed(let error) = executeCanonicalSizeLine(size) { return .failed(error) }
                }
            }
            switch llhttpExecute(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
            case .consumed:
                return .consumed
            case .failed(let error):
                return .failed(error)
            case .paused(let consumed):
                offset += consumed
                if sizeLinePhase == .pausedBefore {
                    // Our own pause before a size line: read it, then go on.
                    withUnsafeMutablePointer(to: &state) { llhttp_resume($0) }
                    sizeLineStarts(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                    continue
                }
                isPaused = true
                return .paused(consumed: offset)
            }
        }
    }

    /// A size line starts at `bytes`: a plain one ("HEX\r\n") that is all here goes to llhttp as it is; any other
    /// is read here. No bytes yet: decide when they come.
    private func sizeLineStarts(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            sizeLinePhase = .atNextInput
            return
        }
        if HTTPParser.isPlainSizeLine(base, base + bytes.count) {
            sizeLinePhase = .none
        } else {
            sizeLine.reset()
            sizeLinePhase = .reading
        }
    }

    private func llhttpExecute(_ bytes: UnsafeRawBufferPointer) -> ParseOutcome {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .consumed }
        inputEnd = base + bytes.count
        bodyEnd = nil
        return withUnsafeMutablePointer(to: &state) { parser -> ParseOutcome in
            parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
            let start = base.assumingMemoryBound(to: CChar.self)
            let status = llhttp_execute(parser, start, bytes.count)
            switch status {
            case HPE_OK:
                return .consumed
            case HPE_PAUSED:
                let stop = UnsafeRawPointer(llhttp_get_error_pos(parser)!)
                return .paused(consumed: stop - UnsafeRawPointer(start))
            default:
                return .failed(error(parser, status))
            }
        }
    }

    /// Gives llhttp the size line it can read: the size in hex and CRLF, without the extensions.
    private func executeCanonicalSizeLine(_ size: UInt64) -> ParseOutcome {
        withUnsafeTemporaryAllocation(byteCount: 20, alignment: 1) { line in
            let count = ChunkFraming.sizeLine(size, into: line)
            return llhttpExecute(UnsafeRawBufferPointer(rebasing: line[0..<count]))
        }
    }

    public func resume() {
        guard isPaused else { return }
        isPaused = false
        withUnsafeMutablePointer(to: &state) { llhttp_resume($0) }
    }

    /// Tells the parser the peer closed the connection. A close-delimited body ends here; anything else
    /// unfinished is an error (a truncated message).
    public func finish() -> ParseOutcome {
        withUnsafeMutablePointer(to: &state) { parser -> ParseOutcome in
            parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
            let status = llhttp_finish(parser)
            switch status {
            case HPE_OK: return .consumed
            case HPE_PAUSED:
                // The close ended a message whose delegate asked to pause.
                llhttp_resume(parser)
                return .paused(consumed: 0)
            default: return .failed(error(parser, status))
            }
        }
    }

    /// Lets go of the head's buffers (its bytes and fields; its other values stay): for a connection whose message goes
    /// on for long after its head (a streamed answer), which then holds no head memory. The next message grows new
    /// ones. Call it after the head has been used (`head.bytes` and `head.fields` are empty from here on).
    public func releaseHeadBuffers() {
        staging.release()
        if case .handedOut = custody {
            custody = .handedOut(releaseOnReturn: true)
            return
        }
        head.bytes = []
        head.fields = []
        head.target = 0..<0
    }

    /// Where the head is: here, or moved out to the delegate during `parserHeadComplete` (see `headersComplete`); a
    /// release asked for meanwhile is done when it is back.
    private enum HeadCustody { case held, handedOut(releaseOnReturn: Bool) }
    private var custody = HeadCustody.held

    /// Forgets any partial message (used when a connection is reused after an aborted exchange).
    public func reset() {
        withUnsafeMutablePointer(to: &state) { llhttp_reset($0) }
        isPaused = false
        isInMessage = false
        head.reset()
        staging.clear()
        sizeLinePhase = .none
        protocolViolation = nil
    }

    /// True when the message's body runs until the connection closes (a response with neither framing).
    public var needsEOF: Bool {
        withUnsafeMutablePointer(to: &state) { llhttp_message_needs_eof($0) != 0 }
    }

    private func error(_ parser: UnsafeMutablePointer<llhttp_t>, _ status: llhttp_errno_t) -> ParseError {
        if headTooLarge { return ParseError(kind: .headTooLarge, reason: "header block larger than \(maxHeadBytes) bytes") }
        if let protocolViolation { return ParseError(kind: .malformed, reason: protocolViolation) }
        let name = String(cString: llhttp_errno_name(status))
        let reason = llhttp_get_error_reason(parser).map { String(cString: $0) } ?? "parse error"
        return ParseError(kind: .malformed, reason: "\(reason) (\(name))")
    }

    // MARK: Callback bodies

    fileprivate func messageBegin() -> Int32 {
        head.reset()
        staging.clear()
        spanStart = 0
        headBytesSeen = 0
        inTrailers = false
        headTooLarge = false
        protocolViolation = nil
        sizeLinePhase = .none
        isInMessage = true
        return 0
    }

    /// Appends a span of the head, enforcing the size limit inside the callback (before buffering).
    @inline(__always)
    fileprivate func appendSpan(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        headBytesSeen += length
        if headBytesSeen > maxHeadBytes {
            headTooLarge = true
            return -1
        }
        if !inTrailers {
            staging.append(UnsafeRawBufferPointer(start: at, count: length))
        }
        return 0
    }

    fileprivate func targetComplete() -> Int32 {
        head.target = spanStart..<staging.count
        spanStart = staging.count
        return 0
    }

    private var pendingName: Range<Int> = 0..<0

    fileprivate func fieldComplete() -> Int32 {
        pendingName = spanStart..<staging.count
        if !inTrailers {  // see HTTPHead.bytes
            staging.append(UInt8(ascii: ":"), UInt8(ascii: " "))
        }
        spanStart = staging.count
        headBytesSeen += 4  // ": " and CRLF count towards the limit, as on the wire
        return 0
    }

    fileprivate func valueComplete() -> Int32 {
        if !inTrailers {
            head.fields.append(HeaderField(name: pendingName, value: spanStart..<staging.count))
            staging.append(UInt8(ascii: "\n"))
        }
        spanStart = staging.count
        return 0
    }

    /// `head.bytes` gets the staged bytes it does not have yet.
    private func publishStaged() {
        head.bytes.appendRaw(UnsafeRawBufferPointer(rebasing: staging.bytes[head.bytes.count...]))
    }

    fileprivate func headersComplete(_ parser: UnsafeMutablePointer<llhttp_t>) -> Int32 {
        publishStaged()
        head.versionMajor = Int(parser.pointee.http_major)
        head.versionMinor = Int(parser.pointee.http_minor)
        head.method = HTTPMethod(raw: parser.pointee.method)
        head.status = Int(parser.pointee.status_code)
        head.keepAlive = llhttp_should_keep_alive(parser) != 0
        head.isChunked = (parser.pointee.flags & UInt16(F_CHUNKED.rawValue)) != 0
        if (parser.pointee.flags & UInt16(F_CONTENT_LENGTH.rawValue)) != 0 {
            head.contentLength = parser.pointee.content_length
        }
        inTrailers = true
        if kind == .response, !(100...599).contains(head.status) {
            // A status outside the five classes has no meaning (RFC 9110 §15); relaying one below 100 as if it were
            // interim would let the upstream start a second response of its choosing.
            protocolViolation = "invalid status code \(head.status) (not in 100-599)"
            return -1
        }
        // The head is handed over from a local it is moved into and back out of: passing the stored property itself
        // copied it (a retain and a release of each of its arrays, per head). `head` reads empty meanwhile; no
        // delegate reads it during this call.
        var handed = HTTPHead()
        swap(&handed, &head)
        custody = .handedOut(releaseOnReturn: false)
        let verdict = delegate.parserHeadComplete(self, handed)
        swap(&handed, &head)
        let releaseAsked = if case .handedOut(releaseOnReturn: true) = custody { true } else { false }
        custody = .held
        if releaseAsked { releaseHeadBuffers() }
        switch verdict {
        case .proceed:
            // llhttp reads a chunked body unless this is a CONNECT request (llhttp__after_headers_complete).
            guard head.isChunked, !(parser.pointee.upgrade != 0 && parser.pointee.method == UInt8(HTTP_CONNECT.rawValue)) else { return 0 }
            return pauseBeforeSizeLine()
        case .skipBody: return 1
        case .reject: return -1
        }
    }

    /// Pauses llhttp so that `execute` reads the next chunk-size line itself.
    private func pauseBeforeSizeLine() -> Int32 {
        sizeLinePhase = .pausedBefore
        return Int32(HPE_PAUSED.rawValue)
    }

    fileprivate func chunkHeader(size: UInt64) {
        currentChunkSize = size
        delegate.parserChunkHeader(self, size: size)
    }

    fileprivate func chunkComplete() -> Int32 {
        delegate.parserChunkComplete(self)
        // After a data chunk comes the next size line; after the last chunk, the message ends. When the next line
        // is already here and plain (the usual case: no extensions), llhttp reads it without a pause.
        guard currentChunkSize > 0 else { return 0 }
        if let bodyEnd, let inputEnd, bodyEnd + 2 <= inputEnd {
            let next = bodyEnd + 2
            if next == inputEnd {
                // The line comes with the next read (a stream sending one event per write): no pause needed.
                sizeLinePhase = .atNextInput
                return 0
            }
            if HTTPParser.isPlainSizeLine(next, inputEnd) { return 0 }
        }
        return pauseBeforeSizeLine()
    }

    /// True when the bytes from `start` begin with 1-16 hex digits and CRLF, all before `end`.
    @inline(__always)
    static func isPlainSizeLine(_ start: UnsafeRawPointer, _ end: UnsafeRawPointer) -> Bool {
        let bytes = start.assumingMemoryBound(to: UInt8.self)
        let available = min(end - start, 18)
        var index = 0
        while index < available {
            let byte = bytes[index]
            if byte == 0x0D { break }
            let letter = byte | 0x20
            guard (byte &- 0x30) < 10 || (letter &- 0x61) < 6 else { return false }
            index += 1
        }
        return index > 0 && index <= 16 && index + 1 < available && bytes[index] == 0x0D && bytes[index + 1] == 0x0A
    }

    @inline(__always)
    fileprivate func bodySpan(_ at: UnsafePointer<CChar>, _ length: Int) {
        bodyEnd = UnsafeRawPointer(at + length)
        delegate.parserBody(self, UnsafeRawBufferPointer(start: at, count: length))
    }

    fileprivate func messageComplete() -> Int32 {
        isInMessage = false
        return delegate.parserMessageComplete(self) ? Int32(HPE_PAUSED.rawValue) : 0
    }
}

// MARK: - The one settings table shared by every parser (llhttp requires it to outlive them).

private nonisolated(unsafe) var parserSettings: llhttp_settings_t = {
    var settings = llhttp_settings_t()
    llhttp_settings_init(&settings)
    settings.on_message_begin = { HTTPParser.with($0) { $0.messageBegin() } }
    settings.on_url = { parser, at, length in HTTPParser.with(parser) { $0.appendSpan(at, length) } }
    settings.on_status = { parser, at, length in HTTPParser.with(parser) { $0.appendSpan(at, length) } }
    settings.on_url_complete = { HTTPParser.with($0) { $0.targetComplete() } }
    // Known before the head is complete, so a request that fails later can still be told by its method.
    settings.on_method_complete = { parser in
        HTTPParser.with(parser) { $0.head.method = HTTPMethod(raw: parser!.pointee.method) }
        return 0
    }
    settings.on_status_complete = { HTTPParser.with($0) { $0.targetComplete() } }
    settings.on_header_field = { parser, at, length in HTTPParser.with(parser) { $0.appendSpan(at, length) } }
    settings.on_header_value = { parser, at, length in HTTPParser.with(parser) { $0.appendSpan(at, length) } }
    settings.on_header_field_complete = { HTTPParser.with($0) { $0.fieldComplete() } }
    settings.on_header_value_complete = { HTTPParser.with($0) { $0.valueComplete() } }
    settings.on_headers_complete = { parser in HTTPParser.with(parser) { $0.headersComplete(parser!) } }
    settings.on_body = { parser, at, length in
        HTTPParser.with(parser) { $0.bodySpan(at!, length) }
        return 0
    }
    settings.on_chunk_header = { parser in
        HTTPParser.with(parser) { $0.chunkHeader(size: parser!.pointee.content_length) }
        return 0
    }
    settings.on_chunk_complete = { HTTPParser.with($0) { $0.chunkComplete() } }
    settings.on_message_complete = { HTTPParser.with($0) { $0.messageComplete() } }
    return settings
}()
