// Wakes a loop from another thread (uv_async_t): the one thread-safe way into a loop. Sends coalesce: the
// callback runs at least once after any number of `send()` calls.
internal import CLibUV

public final class AsyncWake: @unchecked Sendable {
    private var handle: LoopHandle<uv_async_t>!
    private let callback: () -> Void
    private var isOpen = true

    /// Create on the loop's thread; `callback` runs on it.
    public init(loop: EventLoop, _ callback: @escaping () -> Void) {
        self.callback = callback
        handle = LoopHandle(owner: self)
        uv_async_init(loop.raw, handle.pointer) { LoopHandle<uv_async_t>.owner(of: $0, as: AsyncWake.self).callback() }
    }

    /// Any thread.
    public func send() { uv_async_send(handle.pointer) }

    /// Loop thread. An open async handle keeps the loop running; close it when the loop should be free to end.
    public func close() {
        guard isOpen else { return }
        isOpen = false
        handle.close()
    }
}
