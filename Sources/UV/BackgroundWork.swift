// Blocking work (a database query, say) on libuv's thread pool, its result handed back on the loop's thread: the
// loop keeps serving while the work runs. uv_queue_work's request lives until its after-work callback, so the
// request and the job are freed there, never earlier.
internal import CLibUV

public enum BackgroundWork {
    /// Runs `work` on a pool thread (UV_THREADPOOL_SIZE of them, 4 by default), then `done` with its result on
    /// `loop`'s thread. Work that must not run concurrently with other work serialises itself (a lock).
    public static func run<Result>(on loop: EventLoop, _ work: @escaping @Sendable () -> Result,
                                   then done: @escaping (Result) -> Void) {
        let job = Job(work: work, done: done)
        let request = UnsafeMutablePointer<uv_work_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passRetained(job as AnyJob).toOpaque()
        let status = uv_queue_work(loop.raw, request, { request in
            Unmanaged<AnyJob>.fromOpaque(request!.pointee.data).takeUnretainedValue().runWork()
        }, { request, _ in
            let job = Unmanaged<AnyJob>.fromOpaque(request!.pointee.data)
            request!.deallocate()
            job.takeRetainedValue().finish()
        })
        precondition(status == 0, "uv_queue_work refused a job: \(UVError(status, "uv_queue_work"))")
    }
}

/// The job as libuv's callbacks see it (they cannot be generic).
private class AnyJob: @unchecked Sendable {
    func runWork() {}
    func finish() {}
}

/// `work` runs on a pool thread and writes `result`; `finish` reads it on the loop's thread after libuv's
/// after-work callback, which happens-after the work (libuv hands the request over through its own queue lock).
private final class Job<Result>: AnyJob, @unchecked Sendable {
    private let work: @Sendable () -> Result
    private let done: (Result) -> Void
    private var result: Result?

    init(work: @escaping @Sendable () -> Result, done: @escaping (Result) -> Void) {
        self.work = work
        self.done = done
    }

    override func runWork() { result = work() }
    override func finish() { done(result!) }
}
