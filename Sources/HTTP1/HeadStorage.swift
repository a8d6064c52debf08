// Spare head buffers shared by the parsers of one loop, so that a connection holds head memory only while it parses
// a head: a parser lends its buffers back once its delegate has seen the head, and takes a warm pair at the next
// message. A held stream (minutes of SSE) then carries no head buffers, and a busy one allocates none.

/// One per loop (not thread-safe: its parsers run on one thread). Give it to `HTTPParser.init(storage:)`.
public final class HeadStorage {
    private var spareBytes: [[UInt8]] = []
    private var spareFields: [[HeaderField]] = []
    /// Spares kept: past this, a returned buffer is freed (a burst of connections leaves no lasting memory).
    let limit: Int

    public init(limit: Int = 256) {
        self.limit = limit
    }

    /// Fills an empty head's buffers from the spares (the head keeps its own when it has some).
    func lend(to head: inout HTTPHead) {
        if head.bytes.capacity == 0, let bytes = spareBytes.popLast() { head.bytes = bytes }
        if head.fields.capacity == 0, let fields = spareFields.popLast() { head.fields = fields }
    }

    /// Takes a head's buffers back, emptied; the head is left with none.
    func takeBack(from head: inout HTTPHead) {
        var bytes: [UInt8] = []
        var fields: [HeaderField] = []
        swap(&bytes, &head.bytes)
        swap(&fields, &head.fields)
        head.target = 0..<0
        if spareBytes.count < limit && bytes.capacity > 0 && bytes.capacity <= Self.keptCapacity {
            bytes.removeAll(keepingCapacity: true)
            spareBytes.append(bytes)
        }
        if spareFields.count < limit && fields.capacity > 0 {
            fields.removeAll(keepingCapacity: true)
            spareFields.append(fields)
        }
    }

    /// A head buffer grown past this (a rare huge head) is freed rather than kept.
    static let keptCapacity = 8 * 1024

    /// Head buffers waiting to be lent.
    public var spares: Int { spareBytes.count }
}
