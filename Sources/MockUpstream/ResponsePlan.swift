// What a route decides about a response (status, headers, body) before anything is written; the writer then
// applies framing, gzip, pacing and faults the same way for every route.

/// A body made on demand, one piece per call, so neither a 200 MB body nor a paced event stream is ever held
/// whole. The writer pulls only while the socket is not congested.
protocol BodySource: AnyObject {
    var hasNext: Bool { get }
    /// `timestamp` is the monotonic clock in ns when the caller asked for timestamps, taken just before the
    /// piece is written.
    func next(timestamp: UInt64?) -> BodyPiece
}

struct BodyPiece {
    enum Bytes {
        case owned([UInt8])
        /// Bytes of the i % 251 pattern, from `offset` (the position in the body): served from a shared table.
        case pattern(offset: UInt64, count: Int)
    }

    var bytes: Bytes
    /// On the first piece of a chunk: the size of the whole chunk, whose data may span several pieces.
    var opensChunk: Int?
    /// On the last piece of a chunk.
    var closesChunk: Bool

    var count: Int {
        switch bytes {
        case .owned(let array): array.count
        case .pattern(_, let count): count
        }
    }

    /// One SSE event: exactly one HTTP chunk.
    static func event(_ bytes: [UInt8]) -> BodyPiece {
        BodyPiece(bytes: .owned(bytes), opensChunk: bytes.count, closesChunk: true)
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch bytes {
        case .owned(let array): array.withUnsafeBytes(body)
        case .pattern(let offset, let count): body(PatternBytes.slice(offset: offset, count: count))
        }
    }
}

struct ResponsePlan {
    enum Body {
        /// No body and no framing fields: 1xx, 204, 304.
        case none
        /// Known in full: sent with Content-Length.
        case fixed([UInt8])
        /// Made while sending; `length` is its size when known in advance (Content-Length), else it is chunked.
        case stream(BodySource, length: UInt64?)
        /// Server-sent events: each event one chunk, paced by `interval_ms`, compressed with a flush per event.
        case events(BodySource)
    }

    var status: Int
    var headers: [(String, String)] = []
    var body: Body
    /// A 1xx sent before this response (what `/status/1xx` shows; a final response must still follow it).
    var interimStatus: Int? = nil

    static func json(_ status: Int, _ text: String) -> ResponsePlan {
        ResponsePlan(status: status, headers: [("content-type", "application/json")], body: .fixed(Array(text.utf8)))
    }

    /// An error in the Anthropic API's shape, which the OpenAI SDK also reads well enough.
    static func error(_ status: Int, type: String, _ message: String) -> ResponsePlan {
        json(status, #"{"type":"error","error":{"type":\#(JSONText.quoted(type)),"message":\#(JSONText.quoted(message))}}"#)
    }
}

/// A body known in full, sent as one piece through the same path as streamed ones (so truncate and
/// close-delimited apply to it the same way).
final class FixedSource: BodySource {
    private var bytes: [UInt8]?
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var hasNext: Bool { bytes != nil }
    func next(timestamp: UInt64?) -> BodyPiece {
        defer { bytes = nil }
        return BodyPiece(bytes: .owned(bytes!), opensChunk: bytes!.count, closesChunk: true)
    }
}
