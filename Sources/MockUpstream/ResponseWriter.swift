// Writes one response: a head whose framing suits the body and the client, then the body piece by piece only
// while the socket keeps up, SSE events one per chunk and paced by a timer, gzip flushed per event, and the
// requested fault at its moment (Faults.swift).
import CZlib
import HTTP1
import UV

enum Framing: Equatable {
    /// No body at all (1xx, 204, 304).
    case none
    case contentLength(UInt64)
    case chunked
    /// The body ends when we close: HTTP/1.0 clients, and the close-delimited fault.
    case untilClose
}

/// Owned by its connection, on the loop thread, from the request's end until the response is fully queued
/// (or, for the silent faults, until the connection closes).
final class ResponseWriter {
    enum Phase {
        case ready
        /// Producing body pieces; paused while the stream is congested, resumed by `streamDrained`.
        case body
        /// Waiting for the pacing timer before the next event.
        case pacing
        /// Stalled or never answering, on purpose: nothing more is written.
        case silent
        case done
    }

    unowned let connection: Connection
    let stream: any MockTransport
    let knobs: Knobs
    let request: MockRequest
    private let plan: ResponsePlan
    private(set) var phase = Phase.ready

    private(set) var framing = Framing.none
    private var closeAfter = false
    private var source: BodySource?
    var currentSource: BodySource? { source }
    private var gzip: GzipStream?
    private var isEventStream = false
    private var isGzipEncoded = false
    /// Pieces written so far: what `fault_after` counts.
    private(set) var piecesSent = 0
    private var faultAfter = 0
    private var bodySent: UInt64 = 0
    /// For the truncate fault on a Content-Length body: where to stop.
    private var truncateAt: UInt64?
    private var pacedBeforeNext = false

    init(connection: Connection, request: MockRequest, knobs: Knobs, plan: ResponsePlan) {
        self.connection = connection
        self.stream = connection.stream
        self.request = request
        self.knobs = knobs
        self.plan = plan
    }

    var isSilent: Bool { phase == .silent }

    // MARK: Head

    func start() {
        if handleFaultBeforeHead() { return }
        chooseFraming()
        writeHead()
        let sendsBody = request.method != .head && framing != .none
        guard sendsBody, source != nil else {
            if handleFaultWithoutBody() { return }
            complete()
            return
        }
        phase = .body
        pump()
    }

    private func chooseFraming() {
        let closeDelimited = knobs.fault == .closeDelimited
        switch plan.body {
        case .none:
            framing = .none
        case .fixed(var bytes):
            // Compressed up front: a JSON body's Content-Length is that of its gzip form.
            if knobs.gzip {
                bytes = GzipStream.compressAll(bytes)
                isGzipEncoded = true
            }
            source = FixedSource(bytes)
            framing = closeDelimited ? .untilClose : .contentLength(UInt64(bytes.count))
            // A whole body is one piece: reset and stall cut it right after the head, whatever fault_after says.
            faultAfter = 0
        case .stream(let body, let length):
            source = body
            if knobs.gzip { gzip = GzipStream() }
            if closeDelimited {
                framing = .untilClose
            } else if let length, gzip == nil {
                framing = .contentLength(length)
            } else {
                framing = request.isHTTP11 ? .chunked : .untilClose
            }
            faultAfter = knobs.faultAfter
        case .events(let body):
            source = body
            isEventStream = true
            if knobs.gzip { gzip = GzipStream() }
            // HTTP/1.0 has no chunked coding (RFC 9112 §6.1): such a client reads until we close.
            framing = closeDelimited || !request.isHTTP11 ? .untilClose : .chunked
            faultAfter = knobs.faultAfter
        }
        if gzip != nil { isGzipEncoded = true }
        if knobs.fault == .truncate, case .contentLength(let length) = framing { truncateAt = length / 2 }
        closeAfter = !request.keepAlive || framing == .untilClose || knobs.fault == .truncate || plan.status == 101
    }

    private func writeHead() {
        var head = ""
        if let interim = plan.interimStatus {
            head += "HTTP/1.1 \(interim) \(Self.reason(interim))\r\n\r\n"
        }
        head += "HTTP/1.1 \(plan.status) \(Self.reason(plan.status))\r\n"
        for (name, value) in plan.headers { head += "\(name): \(value)\r\n" }
        if isGzipEncoded && framing != .none { head += "content-encoding: gzip\r\n" }
        switch framing {
        case .none, .untilClose: break
        case .contentLength(let length): head += "content-length: \(length)\r\n"
        case .chunked: head += "transfer-encoding: chunked\r\n"
        }
        if closeAfter {
            head += "connection: close\r\n"
        } else if !request.isHTTP11 {
            head += "connection: keep-alive\r\n"
        }
        head += "\r\n"
        var bytes = Array(head.utf8)
        bytes.withUnsafeMutableBytes { stream.write(copying: UnsafeRawBufferPointer($0)) }
        stream.flush()
    }

    // MARK: Body

    /// Produces pieces until the body ends, the stream congests (`streamDrained` calls back here), the pacing
    /// timer must run, or a fault fires.
    func pump() {
        guard phase == .body, let source else { return }
        while phase == .body && stream.state == .open && !connection.isClosing {
            if stream.isCongested { return }
            if piecesSent == faultAfter && handleFaultMidBody() { return }
            guard source.hasNext else {
                finishBody()
                return
            }
            if isEventStream && knobs.intervalMs > 0 && piecesSent > 0 && !pacedBeforeNext {
                phase = .pacing
                connection.pace(milliseconds: knobs.intervalMs)
                return
            }
            pacedBeforeNext = false
            // Taken as late as possible: the client compares it with its arrival time.
            let piece = source.next(timestamp: knobs.timestamps && isEventStream ? EventLoop.hrtime() : nil)
            send(piece)
            piecesSent += 1
            stream.flush()
        }
    }

    func paceElapsed() {
        guard phase == .pacing else { return }
        phase = .body
        pacedBeforeNext = true
        pump()
    }

    private func send(_ piece: BodyPiece) {
        switch framing {
        case .none:
            return
        case .chunked:
            if let gzip {
                let compressed = compress(piece, gzip)
                // Nothing out yet (zlib is holding it): no chunk, since an empty one would end the body.
                guard !compressed.isEmpty else { return }
                writeChunkSize(compressed.count)
                write(compressed)
                writeStatic("\r\n")
            } else {
                if let size = piece.opensChunk { writeChunkSize(size) }
                write(piece, prefix: piece.count)
                if piece.closesChunk { writeStatic("\r\n") }
            }
        case .untilClose, .contentLength:
            if let gzip {
                write(compress(piece, gzip))
            } else if let limit = truncateAt {
                let allowed = Int(min(UInt64(piece.count), limit - bodySent))
                write(piece, prefix: allowed)
                bodySent += UInt64(allowed)
                if bodySent >= limit { cutShort() }
            } else {
                write(piece, prefix: piece.count)
            }
        }
    }

    /// Writes a piece with its first `count` bytes only, and then closes: the truncate fault on a chunked
    /// body (a chunk that declares more than arrives).
    func sendHalf(_ piece: BodyPiece) {
        if framing == .chunked {
            if let gzip {
                let compressed = compress(piece, gzip)
                writeChunkSize(compressed.count)
                write(Array(compressed.prefix(max(1, compressed.count / 2))))
            } else {
                writeChunkSize(piece.opensChunk ?? piece.count)
                write(piece, prefix: max(1, piece.count / 2))
            }
        } else {
            write(piece, prefix: piece.count / 2)
        }
        cutShort()
    }

    private func compress(_ piece: BodyPiece, _ gzip: GzipStream) -> [UInt8] {
        // Per event, a sync flush: the client can decode each event the moment its chunk arrives.
        piece.withBytes { gzip.compress($0, flush: isEventStream ? Z_SYNC_FLUSH : Z_NO_FLUSH) }
    }

    private func finishBody() {
        if let gzip {
            let tail = gzip.finish()
            self.gzip = nil
            if framing == .chunked {
                writeChunkSize(tail.count)
                write(tail)
                writeStatic("\r\n")
            } else {
                write(tail)
            }
        }
        if framing == .chunked { writeStatic("0\r\n\r\n") }
        complete()
    }

    /// The response is fully queued; the connection may go on to the next request (or close).
    private func complete() {
        stream.flush()
        phase = .done
        connection.responseFinished(close: closeAfter)
    }

    /// Stops mid-body and closes once what was written has left: the client sees a body shorter than promised.
    func cutShort() {
        stream.flush()
        phase = .done
        connection.responseFinished(close: true)
    }

    /// Stops here and writes nothing more, keeping the connection open.
    func fallSilent() {
        stream.flush()
        phase = .silent
    }

    // MARK: Writing bytes

    private func write(_ piece: BodyPiece, prefix count: Int) {
        guard count > 0 else { return }
        switch piece.bytes {
        case .owned(let bytes):
            bytes.withUnsafeBytes { stream.write(copying: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        case .pattern(let offset, _):
            // The pattern table lives for the whole process, so the stream may borrow it.
            stream.write(borrowing: PatternBytes.slice(offset: offset, count: count))
        }
    }

    private func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { stream.write(copying: $0) }
    }

    private func writeStatic(_ text: StaticString) {
        stream.write(copying: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private func writeChunkSize(_ size: Int) {
        var line: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &line) { buffer in
            let count = ChunkFraming.sizeLine(UInt64(size), into: buffer)
            stream.write(copying: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 102: "Processing"
        case 103: "Early Hints"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 418: "I'm a Teapot"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 529: "Overloaded"
        default: "Mock Status"
        }
    }
}
