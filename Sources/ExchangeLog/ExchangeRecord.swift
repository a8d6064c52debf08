// One exchange as the logger assembles it from ring records (field names of the JSON it becomes are a contract:
// README "The exchange log"). The request and response heads are kept as the ring's payload bytes (the request's
// fields are found when the record is written, the response's when its head comes), so nothing is made into a String
// until it is written.
import HTTP1
import LogRing
import Bytes

/// A class: the assembler's table holds it while body fragments arrive, and each fragment changes it in place.
/// Reused from exchange to exchange (see `RecordAssembler.recycle`), so its buffers keep their memory.
final class ExchangeRecord {
    var exchange: UInt64 = 0
    var startedWallMicros: UInt64 = 0
    var startedMonotonic: UInt64 = 0
    /// Monotonic time of the fragment that carried the first answer text.
    var firstTokenAt: UInt64?

    /// The start record's payload: client, upstream, request line and fields (see LogPayload).
    var start = OwnedBytes()
    var client = 0..<0
    var upstream = 0..<0
    var method = 0..<0
    var target = 0..<0
    var requestBody = KeptBody()
    /// Bytes that crossed the wire (the end record's count wins when present).
    var requestBytes = 0

    /// The response head's payload: status line and fields.
    var head = OwnedBytes()
    /// The head's fields as read when it came, for the record (nil before, and once parked: a held stream keeps no
    /// field positions; the record reads them again).
    var responseFields: HeadFields?
    var status: Int?
    /// The Content-Encoding field's value, when present (offsets into `head`).
    var contentEncoding: Range<Int>?
    var isEventStream = false
    var isJSON = false
    var inflater: Inflater?
    var inflateFailed = false
    var responseBody = KeptBody()
    var responseBytes = 0
    /// The loop dropped bytes of the answer (ring full under --log-overflow drop).
    var responseDropped = false
    var responseTruncated: Bool { responseBody.truncated || responseDropped }
    var sse = SSEAnalyzer()
    var isStream = false
    /// Inflated bytes of one fragment (reused).
    var decoded: [UInt8] = []
    /// The start and head payloads while parked (see `park`): `start` and `head` are empty meanwhile.
    private var startParked: SpoolExtent?
    private var headParked: SpoolExtent?

    /// An exchange that stays open gives its bytes to the spool: heads once, bodies as they grow (see BodySpool). What
    /// it keeps in memory is this object, its SSE reader's state and a few extents.
    func park(_ files: BodyFiles) {
        Self.park(&start, &startParked, files)
        Self.park(&head, &headParked, files)
        responseFields = nil
        requestBody.park(files, exchange: exchange, side: "request")
        responseBody.park(files, exchange: exchange, side: "response")
        decoded = []
    }

    /// Some of its bytes are in the spool.
    var isParked: Bool {
        startParked != nil || headParked != nil || !requestBody.parked.isEmpty || !responseBody.parked.isEmpty
    }

    /// Everything parked back in memory, for the record.
    func unpark(_ files: BodyFiles?) {
        guard let files else { return }
        Self.unpark(&start, &startParked, files)
        Self.unpark(&head, &headParked, files)
        requestBody.unpark(files)
        responseBody.unpark(files)
    }

    /// A new response head replaces a parked one.
    func dropParkedHead(_ files: BodyFiles?) {
        if let headParked { files?.spool.release(headParked) }
        headParked = nil
    }

    private static func park(_ bytes: inout OwnedBytes, _ parked: inout SpoolExtent?, _ files: BodyFiles) {
        if let extent = parked {
            // In an older spool file: moved to the current one, so the old one can go.
            guard extent.generation != files.spool.current else { return }
            unpark(&bytes, &parked, files)
        }
        guard !bytes.isEmpty, let extent = bytes.withUnsafeBytes({ files.spool.park($0) }) else { return }
        parked = extent
        bytes.release()
    }

    private static func unpark(_ bytes: inout OwnedBytes, _ parked: inout SpoolExtent?, _ files: BodyFiles) {
        guard let extent = parked else { return }
        parked = nil
        var restored: [UInt8] = []
        if !files.spool.take(extent, into: &restored) {
            // Unreadable (reported): the positions into it must stay valid, so it comes back as that many zero bytes.
            restored = [UInt8](repeating: 0, count: Int(extent.length))
        }
        restored.withUnsafeBytes { bytes.set($0) }
    }


    /// Ready for the next exchange; buffers a large exchange grew are let go (the logger's memory stays bounded by
    /// what is open, not by the largest exchange ever seen).
    func reset(exchange: UInt64, files: BodyFiles?) {
        self.exchange = exchange
        if let startParked { files?.spool.release(startParked) }
        if let headParked { files?.spool.release(headParked) }
        startParked = nil
        headParked = nil
        startedWallMicros = 0
        startedMonotonic = 0
        firstTokenAt = nil
        start.clear(keepingUpTo: Self.keptCapacity)
        client = 0..<0
        upstream = 0..<0
        method = 0..<0
        target = 0..<0
        requestBody.reset(files, keep: Self.keptCapacity)
        requestBytes = 0
        head.clear(keepingUpTo: Self.keptCapacity)
        responseFields?.clear()
        status = nil
        contentEncoding = nil
        isEventStream = false
        isJSON = false
        inflater = nil
        inflateFailed = false
        responseBody.reset(files, keep: Self.keptCapacity)
        responseBytes = 0
        responseDropped = false
        if isStream { sse.reset() }
        isStream = false
        Self.empty(&decoded)
    }

    /// What a reused buffer keeps.
    static let keptCapacity = 64 * 1024

    private static func empty(_ buffer: inout [UInt8]) {
        if buffer.capacity > keptCapacity { buffer = [] } else if !buffer.isEmpty { buffer.removeAll(keepingCapacity: true) }
    }
}

/// What the end record reports, in nanoseconds from the request head (0: phase not reached) and bytes.
struct EndFigures {
    var connectNs: UInt64 = 0
    /// The TLS handshake's duration, when this exchange opened the connection (0: none).
    var tlsNs: UInt64 = 0
    var tlsResumed = false
    var headNs: UInt64 = 0
    var firstByteNs: UInt64 = 0
    var firstTokenNs: UInt64 = 0
    var totalNs: UInt64 = 0
    var requestBytes: UInt64?
    var responseBytes: UInt64?
    var droppedBytes: UInt64?
}
