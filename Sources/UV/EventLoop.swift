// The event loop: one per worker thread. It owns the libuv loop and the one read buffer all its streams share.
internal import CLibUV

/// A libuv loop. Every handle created on it, and every object that owns one, belongs to the thread that
/// calls `run()`; none of them may be touched from another thread.
public final class EventLoop {
    let raw: UnsafeMutablePointer<uv_loop_t>

    /// The single read buffer shared by every stream of this loop. libuv calls alloc → read → read callback
    /// synchronously for one stream at a time, and read callbacks consume (or copy) their bytes before
    /// returning, so one buffer suffices: an idle connection holds no read memory at all.
    let readBuffer: UnsafeMutableRawBufferPointer
    public static let readBufferSize = 64 * 1024
    /// A second buffer for bytes derived from a read while the read's bytes are still in use (decrypted TLS),
    /// shared the same way: whatever is put in it is used before the read callback returns.
    public let derivedBuffer: UnsafeMutableRawBufferPointer

    /// Write gather arrays and scratch space (one raw block each, see `WriteBuffers`), lent to a stream from its
    /// first write until its flush (which comes before its turn ends), so an idle or waiting connection holds none:
    /// memory follows active writers, not open connections. Raw blocks, so lending one costs no reference counting.
    private var spareWriteBuffers: [UnsafeMutableRawPointer] = []
    static let spareWriteBuffersKept = 64

    func borrowWriteBuffers() -> UnsafeMutableRawPointer {
        spareWriteBuffers.popLast() ?? WriteBuffers.allocate()
    }

    func returnWriteBuffers(_ buffers: UnsafeMutableRawPointer) {
        if spareWriteBuffers.count < EventLoop.spareWriteBuffersKept { spareWriteBuffers.append(buffers) } else { buffers.deallocate() }
    }

    public init() {
        raw = .allocate(capacity: 1)
        let status = uv_loop_init(raw)
        precondition(status == 0, "uv_loop_init failed: \(status)")
        readBuffer = .allocate(byteCount: EventLoop.readBufferSize, alignment: 16)
        derivedBuffer = .allocate(byteCount: EventLoop.readBufferSize, alignment: 16)
    }

    deinit {
        for block in spareWriteBuffers { block.deallocate() }
        uv_loop_close(raw)
        raw.deallocate()
        readBuffer.deallocate()
        derivedBuffer.deallocate()
    }

    /// Runs until no active handle is left or `stop()` is called. While it runs, the calling thread owns the loop
    /// and everything on it; before and after, whoever holds the loop may set things up or tidy up.
    public func run() {
        runningThread = pthread_self()
        uv_run(raw, UV_RUN_DEFAULT)
        runningThread = nil
    }

    private var runningThread: pthread_t?

    /// Debug builds stop at once when a loop-owned object is touched from another thread while the loop runs
    /// (a race with the loop); release builds check nothing.
    @inline(__always)
    public func assertOnLoopThread(file: StaticString = #fileID, line: UInt = #line) {
        assert(runningThread.map { pthread_equal($0, pthread_self()) != 0 } ?? true,
               "loop-owned object used off its loop's thread", file: file, line: line)
    }

    /// Runs one iteration without blocking; for tests.
    public func runOnce() {
        runningThread = pthread_self()
        uv_run(raw, UV_RUN_NOWAIT)
        runningThread = nil
    }

    public func stop() { uv_stop(raw) }

    /// Runs `work` on a later turn of this loop, never inside the call that asks: a completion libuv would deliver
    /// later (a failed connect, an address that needed no lookup) is delivered the same way when it is known at
    /// once, so a caller's state machine has one path for it (libuv's own habit, `delayed_error` in stream.c).
    public func deliverLater(_ work: @escaping () -> Void) {
        deferred.append(work)
        if deferred.count == 1 { deferredTimer.start(milliseconds: 0) }
    }

    private var deferred: [() -> Void] = []
    private lazy var deferredTimer = Timer(loop: self) { [unowned self] in
        let due = self.deferred
        self.deferred.removeAll()
        for work in due { work() }
    }

    /// Every DeadlineTimer's deadline on this loop, behind one libuv timer.
    lazy var deadlines = DeadlineHeap(loop: self)

    /// The loop's cached clock in milliseconds (updated once per iteration; no syscall).
    @inline(__always) public var now: UInt64 { uv_now(raw) }

    /// A monotonic clock in nanoseconds (a syscall-free vDSO read), for timing an exchange.
    @inline(__always) public static func hrtime() -> UInt64 { uv_hrtime() }

    /// The monotonic nanoseconds at which the bytes being handled arrived: read once per read callback, so that what
    /// an exchange stamps while handling them (its start, a response head, the first body byte, its end, the log's
    /// body stamps) costs one clock read, not one per stamp (~20 ns each here). Outside a read callback (timers,
    /// connects): the clock now.
    @inline(__always) public var eventTime: UInt64 { readTime != 0 ? readTime : uv_hrtime() }
    /// Set by the read callback for its duration; 0 otherwise.
    var readTime: UInt64 = 0
}

/// One stream's gather-then-flush space while it has writes pending (see `EventLoop.borrowWriteBuffers`).
enum WriteBuffers {
    static let gatherCapacity = 64
    static let scratchCapacity = 16 * 1024

    /// One block: the gather array (`gatherCapacity` uv_buf_t, bound once here), then the scratch.
    static func allocate() -> UnsafeMutableRawPointer {
        let block = UnsafeMutableRawPointer.allocate(byteCount: scratchOffset + scratchCapacity, alignment: 16)
        block.bindMemory(to: uv_buf_t.self, capacity: gatherCapacity)
        return block
    }
    static let scratchOffset = (MemoryLayout<uv_buf_t>.stride * gatherCapacity + 15) & ~15
    @inline(__always)
    static func gather(_ block: UnsafeMutableRawPointer) -> UnsafeMutablePointer<uv_buf_t> {
        block.assumingMemoryBound(to: uv_buf_t.self)
    }
    @inline(__always)
    static func scratch(_ block: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer { block + scratchOffset }
}
