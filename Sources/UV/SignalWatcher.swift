// Delivers a POSIX signal as a callback on the loop thread (libuv turns it into a loop event).
import CLibUV

public final class SignalWatcher {
    private let handle: UnsafeMutablePointer<uv_signal_t>
    private let callback: () -> Void
    private var isOpen = true

    public init(loop: EventLoop, signal: Int32, _ callback: @escaping () -> Void) {
        self.callback = callback
        handle = .allocate(capacity: 1)
        uv_signal_init(loop.raw, handle)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        uv_signal_start(handle, { handle, _ in
            Unmanaged<SignalWatcher>.fromOpaque(handle!.pointee.data).takeUnretainedValue().callback()
        }, signal)
        // A signal watcher alone must not keep the loop running.
        uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self))
    }

    public func close() {
        guard isOpen else { return }
        isOpen = false
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { handle in
            let unmanaged = Unmanaged<SignalWatcher>.fromOpaque(handle!.pointee.data)
            unmanaged.takeUnretainedValue().handle.deallocate()
            unmanaged.release()
        }
    }
}
