// A TCP connection on the loop: reads into the loop's shared buffer, writes with gather-then-flush, and tells
// its delegate when its outbound queue drains, so the owner can apply backpressure to the other side.
internal import CLibUV

public protocol TCPStreamDelegate: AnyObject {
    /// Bytes read. They live in the loop's shared buffer: use or copy them before returning.
    func streamRead(_ stream: TCPStream, _ bytes: UnsafeRawBufferPointer)
    /// The peer closed its side (`error == nil`) or the read failed.
    func streamEnded(_ stream: TCPStream, _ error: UVError?)
    /// An outgoing connect finished (`error == nil` on success).
    func streamConnected(_ stream: TCPStream, _ error: UVError?)
    /// A queued write failed; the connection is unusable.
    func streamWriteFailed(_ stream: TCPStream, _ error: UVError)
    /// The outbound queue fell to the low watermark after having passed the high one.
    func streamDrained(_ stream: TCPStream)
}

extension TCPStreamDelegate {
    /// Only a stream that connects out hears of it; an accepted one never does.
    public func streamConnected(_ stream: TCPStream, _ error: UVError?) {}
}

/// Ownership: the libuv handle keeps this object alive (LoopHandle) from `init` until libuv's close callback; the
/// handle and its requests are freed there and nowhere else. The delegate is held strongly while open and dropped
/// by `close()`, which breaks the owner ↔ stream cycle.
public final class TCPStream: LoopHandleOwner {
    public enum State { case open, closing, closed }

    public let loop: EventLoop
    public private(set) var state = State.open
    public var delegate: (any TCPStreamDelegate)?

    private var tcp: LoopHandle<uv_tcp_t>!
    var handle: UnsafeMutablePointer<uv_tcp_t> { tcp.pointer }
    /// libuv's request for a queued write: made by the first write the kernel did not take at once (most
    /// connections never have one: `flush` writes with uv_try_write), kept until the handle closes. 192 bytes that
    /// an idle held stream need not carry.
    private var writeRequest: UnsafeMutablePointer<uv_write_t>?

    /// Borrowed buffers gathered since the last flush (zero-copy), plus scratch for small framing bytes: one block
    /// (see `WriteBuffers`) lent by the loop from the first write until the flush.
    private var writeBlock: UnsafeMutableRawPointer?
    private var gatherCount: Int32 = 0
    private var scratchUsed = 0
    static let gatherCapacity = WriteBuffers.gatherCapacity
    static let scratchCapacity = WriteBuffers.scratchCapacity

    @inline(__always) private var gather: UnsafeMutablePointer<uv_buf_t> { WriteBuffers.gather(writeBlock ?? borrowWriteBuffers()) }
    @inline(__always) private var scratch: UnsafeMutableRawPointer { WriteBuffers.scratch(writeBlock ?? borrowWriteBuffers()) }
    private func borrowWriteBuffers() -> UnsafeMutableRawPointer {
        let borrowed = loop.borrowWriteBuffers()
        writeBlock = borrowed
        return borrowed
    }
    private func returnWriteBuffers() {
        if let writeBlock { loop.returnWriteBuffers(writeBlock) }
        writeBlock = nil
    }
    /// Pieces up to this size are copied into the scratch and coalesced with their neighbours: for small SSE
    /// events a memcpy is cheaper than one more iovec in the kernel, and a whole read's worth of events
    /// (size line, data, CRLF, ...) leaves as one contiguous buffer.
    static let coalesceLimit = 2048

    /// Bytes the kernel did not take yet, and the watermarks.
    private var queue = OutboundQueue()
    private var closeWhenFlushed = false

    public var highWatermark: Int {
        get { queue.highWatermark }
        set { queue.highWatermark = newValue }
    }
    public var lowWatermark: Int {
        get { queue.lowWatermark }
        set { queue.lowWatermark = newValue }
    }

    public private(set) var isReading = false

    public init(loop: EventLoop) {
        self.loop = loop
        tcp = LoopHandle(owner: self)
        uv_tcp_init(loop.raw, tcp.pointer)
    }

    /// `body` on the stream behind a handle, with no retain pair (see `LoopHandle.withOwner`).
    @inline(__always)
    static func with<R>(_ handle: UnsafeMutableRawPointer?, _ body: (TCPStream) -> R) -> R {
        LoopHandle<uv_tcp_t>.withOwner(of: handle, body)
    }

    var streamHandle: UnsafeMutablePointer<uv_stream_t> { tcp.stream }

    // MARK: Options and addresses

    /// Disables Nagle: an SSE event must leave in the same turn it arrived.
    public func setNoDelay() { uv_tcp_nodelay(handle, 1) }

    public var peerAddress: SocketAddress? {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getpeername(handle, $0, &length) == 0 }
        }
        guard ok else { return nil }
        return withUnsafePointer(to: storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress(copying: $0) } }
    }

    // MARK: Connecting

    /// The connect request lives from here to its callback (which libuv always calls, with UV_ECANCELED if the
    /// handle closes first), so an accepted or connected stream carries none.
    public func connect(to address: SocketAddress) {
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        let status = address.withSockaddr { uv_tcp_connect(request, handle, $0, onConnect) }
        if status < 0 {
            request.deallocate()
            // Reported on a later turn, as libuv reports a refused connection: never inside connect().
            loop.deliverLater { [self] in
                if state == .open { delegate?.streamConnected(self, UVError(status, "uv_tcp_connect")) }
            }
        }
    }

    // MARK: Reading

    public func startReading() {
        loop.assertOnLoopThread()
        guard state == .open, !isReading else { return }
        if uv_read_start(streamHandle, onAlloc, onRead) == 0 { isReading = true }
    }

    public func stopReading() {
        guard state == .open, isReading else { return }
        uv_read_stop(streamHandle)
        isReading = false
    }

    // MARK: Writing

    /// Queues bytes without copying them. They must stay valid until the next `flush()`.
    public func write(borrowing bytes: UnsafeRawBufferPointer) {
        loop.assertOnLoopThread()
        guard bytes.count > 0, state == .open, writeFailure == nil else { return }
        if bytes.count <= TCPStream.coalesceLimit {
            write(copying: bytes)
            return
        }
        appendGather(bytes)
    }

    private func appendGather(_ bytes: UnsafeRawBufferPointer) {
        if gatherCount == Int32(TCPStream.gatherCapacity) { flush() }
        gather[Int(gatherCount)] = uv_buf_init(UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: CChar.self)), UInt32(bytes.count))
        gatherCount += 1
    }

    /// Queues a small piece of framing (a chunk-size line, CRLF) by copying it into the stream's scratch.
    public func write(copying bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, state == .open, writeFailure == nil else { return }
        if bytes.count > TCPStream.scratchCapacity {
            flush()
            enqueueUnsent(bytes)
            return
        }
        if scratchUsed + bytes.count > TCPStream.scratchCapacity || gatherCount == Int32(TCPStream.gatherCapacity) { flush() }
        let dst = scratch + scratchUsed
        dst.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        scratchUsed += bytes.count
        // Extend the previous iovec when it ends exactly where this copy starts.
        if gatherCount > 0 {
            let last = gather[Int(gatherCount) - 1]
            if UnsafeMutableRawPointer(last.base!) + Int(last.len) == dst {
                gather[Int(gatherCount) - 1].len += numericCast(bytes.count)
                return
            }
        }
        appendGather(UnsafeRawBufferPointer(start: dst, count: bytes.count))
    }

    public func write(copying bytes: [UInt8]) {
        bytes.withUnsafeBytes { write(copying: $0) }
    }

    /// Sends what was gathered: straight to the kernel when nothing is queued (one writev, no copy); whatever
    /// the kernel does not take is copied into the outbound queue and written by libuv.
    public func flush() {
        loop.assertOnLoopThread()
        guard gatherCount > 0 else { return }
        defer {
            gatherCount = 0
            scratchUsed = 0
            // Everything gathered was written or copied into the queue: the buffers go back to the loop.
            returnWriteBuffers()
        }
        guard state == .open, writeFailure == nil else { return }
        var written: Int32 = 0
        if queue.mayWriteDirectly {
            written = uv_try_write(streamHandle, gather, UInt32(gatherCount))
            if written == UV_EAGAIN.rawValue || written == UV_ENOSYS.rawValue {
                written = 0  // nothing taken; everything goes to the queue
            } else if written < 0 {
                return failWrite(UVError(written, "uv_try_write"))
            }
        }
        let gather = self.gather
        queue.stageUnwritten(pieces: Int(gatherCount), written: Int(written)) { index in
            UnsafeRawBufferPointer(start: gather[index].base, count: Int(gather[index].len))
        }
        startQueuedWrite()
    }

    private func enqueueUnsent(_ bytes: UnsafeRawBufferPointer) {
        var written: Int32 = 0
        if queue.mayWriteDirectly {
            written = bytes.withMemoryRebound(to: CChar.self) { chars -> Int32 in
                var buf = uv_buf_init(UnsafeMutablePointer(mutating: chars.baseAddress!), UInt32(chars.count))
                return uv_try_write(streamHandle, &buf, 1)
            }
            if written == UV_EAGAIN.rawValue || written == UV_ENOSYS.rawValue {
                written = 0
            } else if written < 0 {
                return failWrite(UVError(written, "uv_try_write"))
            }
        }
        queue.stageUnwritten(pieces: 1, written: Int(written)) { _ in bytes }
        startQueuedWrite()
    }

    /// Bytes accepted but not yet handed to the kernel.
    public var pendingBytes: Int { queue.pendingBytes }

    /// True once the queue has passed the high watermark, until it falls back to the low one
    /// (then `streamDrained` is called).
    public var isCongested: Bool { queue.isCongested }

    private func startQueuedWrite() {
        guard state == .open, let bytes = queue.beginWrite() else {
            if queue.mayWriteDirectly && closeWhenFlushed { close() }
            return
        }
        var buf = uv_buf_init(UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: CChar.self)), UInt32(bytes.count))
        let request = writeRequest ?? .allocate(capacity: 1)
        writeRequest = request
        let status = uv_write(request, streamHandle, &buf, 1, onWrite)
        if status < 0 {
            queue.writeNotStarted()
            failWrite(UVError(status, "uv_write"))
        }
    }

    fileprivate func writeCompleted(_ status: Int32) {
        let drained = queue.writeFinished()
        guard state == .open else { return }
        if status < 0 { return failWrite(UVError(status, "uv_write")) }
        startQueuedWrite()
        if drained { delegate?.streamDrained(self) }
    }

    /// A write failed: nothing more is written, and the delegate hears of it on a later loop turn — never inside
    /// the write() or flush() that found it, where the caller is still in the middle of its own work.
    private func failWrite(_ error: UVError) {
        guard writeFailure == nil else { return }
        writeFailure = error
        queue.dropStaged()
        gatherCount = 0
        scratchUsed = 0
        loop.deliverLater { [self] in
            if state == .open { delegate?.streamWriteFailed(self, error) }
        }
    }

    /// Set by the first failed write; the stream takes no more bytes.
    private var writeFailure: UVError?

    /// Bytes accepted and not yet taken by the peer: what kgb and libuv still hold, plus the kernel's send queue
    /// (a syscall: for deadlines, not per write). It falls as a slow reader reads, however large the write in
    /// flight (the kernel may hold megabytes of it).
    public var unreadBytes: Int {
        guard state == .open else { return 0 }
        return Int(uv_stream_get_write_queue_size(streamHandle)) + queue.staged.count + max(0, Int(kgb_tcp_unsent_in_kernel(handle)))
    }

    // MARK: Closing

    /// Closes once every queued byte has been handed to the kernel (which sends what it holds before its FIN).
    public func closeWhenWritten() {
        flush()
        guard state == .open else { return }
        if queue.mayWriteDirectly { close() } else { closeWhenFlushed = true }
    }

    /// As `closeWhenWritten()`, but gives up (dropping the rest) when the peer reads nothing for `stallTimeout`
    /// milliseconds: a slow reader gets its whole answer as long as it keeps reading. Reading stops, the delegate
    /// is let go; the stream keeps itself alive until it has closed, as every open handle does.
    public func closeWhenWritten(stallTimeout: UInt64) {
        stopReading()
        delegate = nil
        closeWhenWritten()
        guard state == .open else { return }
        var progress = ReadProgress()
        _ = progress.isReading(unread: unreadBytes)
        let timer = Timer(loop: loop) { [unowned self] in
            if !progress.isReading(unread: unreadBytes) { close() }
        }
        timer.start(repeatingEvery: stallTimeout)
        stallTimer = timer
    }

    private var stallTimer: Timer?

    /// Closes now; queued bytes are dropped. Safe to call more than once.
    public func close() {
        loop.assertOnLoopThread()
        guard state == .open else { return }
        state = .closing
        isReading = false
        delegate = nil
        tcp.close()
    }

    /// Closes with a TCP reset, so the peer sees the exchange aborted rather than finished.
    public func reset() {
        guard state == .open else { return }
        state = .closing
        isReading = false
        delegate = nil
        tcp.closeWithReset()
    }

    func handleClosed() {
        state = .closed
        stallTimer?.close()
        stallTimer = nil
        queue.release()
        writeRequest?.deallocate()
        writeRequest = nil
        returnWriteBuffers()
    }
}

// MARK: - libuv callbacks (non-capturing; `self` comes back through handle.data)

private func onAlloc(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int, _ buf: UnsafeMutablePointer<uv_buf_t>?) {
    TCPStream.with(UnsafeMutableRawPointer(handle)) { stream in
        let shared = stream.loop.readBuffer
        buf!.pointee = uv_buf_init(shared.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(shared.count))
    }
}

private func onRead(_ handle: UnsafeMutablePointer<uv_stream_t>?, _ nread: Int, _ buf: UnsafePointer<uv_buf_t>?) {
    TCPStream.with(UnsafeMutableRawPointer(handle)) { stream in
        guard stream.state == .open, let delegate = stream.delegate else { return }
        let loop = stream.loop
        loop.readTime = uv_hrtime()
        defer { loop.readTime = 0 }
        if nread > 0 {
            delegate.streamRead(stream, UnsafeRawBufferPointer(start: buf!.pointee.base, count: nread))
        } else if nread < 0 {
            stream.stopReading()
            delegate.streamEnded(stream, nread == Int(UV_EOF.rawValue) ? nil : UVError(Int32(nread), "uv_read"))
        }
        // nread == 0 is EAGAIN, not EOF: nothing to do.
    }
}

private func onWrite(_ request: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    TCPStream.with(UnsafeMutableRawPointer(request!.pointee.handle)) { $0.writeCompleted(status) }
}

private func onConnect(_ request: UnsafeMutablePointer<uv_connect_t>?, _ status: Int32) {
    let handle = request!.pointee.handle
    request!.deallocate()
    TCPStream.with(UnsafeMutableRawPointer(handle)) { stream in
        guard stream.state == .open else { return }
        stream.delegate?.streamConnected(stream, status < 0 ? UVError(status, "connect") : nil)
    }
}
