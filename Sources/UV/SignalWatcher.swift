// Delivers a POSIX signal as a callback on the loop thread (libuv turns it into a loop event).
internal import CLibUV

public final class SignalWatcher {
    private var handle: LoopHandle<uv_signal_t>!
    private let callback: () -> Void
    private var isOpen = true

    public init(loop: EventLoop, signal: Int32, _ callback: @escaping () -> Void) {
        self.callback = callback
        handle = LoopHandle(owner: self)
        uv_signal_init(loop.raw, handle.pointer)
        uv_signal_start(handle.pointer, { handle, _ in
            LoopHandle<uv_signal_t>.owner(of: handle, as: SignalWatcher.self).callback()
        }, signal)
        handle.unref()  // a signal watcher alone must not keep the loop running
    }

    public func close() {
        guard isOpen else { return }
        isOpen = false
        handle.close()
    }
}
