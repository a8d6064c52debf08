// The bytes a stream accepted that the kernel has not taken yet, and the watermark accounting that drives
// backpressure. A value with no socket: TCPStream does the system calls and tells it what happened, so a test can
// drive it through partial writes, a write in flight and the watermarks.
import Bytes

struct OutboundQueue {
    /// Handed to a write libuv is still carrying out.
    private(set) var inFlight = ByteBuffer()
    /// Waiting behind it (written in order, after it).
    private(set) var staged = ByteBuffer()
    private(set) var isWriting = false
    var highWatermark = 256 * 1024
    var lowWatermark = 64 * 1024
    /// Passed the high watermark, and not yet back to the low one.
    private(set) var isCongested = false

    /// Bytes accepted and not yet handed to the kernel.
    var pendingBytes: Int { inFlight.count + staged.count }

    /// New bytes may go to the kernel at once only when nothing is queued ahead of them.
    var mayWriteDirectly: Bool { !isWriting && staged.isEmpty }

    /// Queues what the kernel did not take: of `count` gathered pieces, the first `written` bytes went out.
    mutating func stageUnwritten(pieces count: Int, written: Int, _ piece: (Int) -> UnsafeRawBufferPointer) {
        var index = 0
        var remaining = written
        while index < count {
            let bytes = piece(index)
            index += 1
            if remaining >= bytes.count {
                remaining -= bytes.count
                continue
            }
            staged.append(UnsafeRawBufferPointer(rebasing: bytes[remaining...]))
            remaining = 0
        }
        noteQueued()
    }

    /// The staged bytes move into flight; returns them for the write to carry (nil: nothing to write, or a write
    /// is already in flight).
    mutating func beginWrite() -> UnsafeRawBufferPointer? {
        guard !isWriting, !staged.isEmpty else { return nil }
        swap(&inFlight, &staged)
        isWriting = true
        return inFlight.bytes
    }

    /// The write in flight could not start.
    mutating func writeNotStarted() { isWriting = false }

    /// The write in flight finished. True when the queue has just fallen to the low watermark after passing the
    /// high one: the moment to tell the owner it may produce again (once per congestion).
    mutating func writeFinished() -> Bool {
        isWriting = false
        inFlight.clear()
        guard isCongested && pendingBytes <= lowWatermark else { return false }
        isCongested = false
        return true
    }

    /// Drops what is staged (the connection failed; nothing more will be written).
    mutating func dropStaged() { staged.clear() }

    mutating func release() {
        inFlight.release()
        staged.release()
    }

    private mutating func noteQueued() {
        if !isCongested && pendingBytes > highWatermark { isCongested = true }
    }
}
