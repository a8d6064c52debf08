// Wakes a loop from another thread (uv_async_t): the one thread-safe way into a loop. Sends coalesce: the
// callback runs at least once after any number of `send()` calls.
import CLibUV

public final class AsyncWake: @unchecked Sendable {
    private let handle: UnsafeMutablePointer<uv_async_t>
    private let callback: () -> Void

    /// Create on the loop's thread; `callback` runs on it.
    public init(loop: EventLoop, _ callback: @escaping () -> Void) {
        self.callback = callback
        handle = .allocate(capacity: 1)
        uv_async_init(loop.raw, handle) { handle in
            Unmanaged<AsyncWake>.fromOpaque(handle!.pointee.data).takeUnretainedValue().callback()
        }
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// Any thread.
    public func send() { uv_async_send(handle) }

    /// Loop thread. An open async handle keeps the loop running; close it when the loop should be free to end.
    public func close() {
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { handle in
            let unmanaged = Unmanaged<AsyncWake>.fromOpaque(handle!.pointee.data)
            unmanaged.takeUnretainedValue().handle.deallocate()
            unmanaged.release()
        }
    }
}
