// A libuv timer calling one closure, created once per owner and re-armed as often as needed.
import CLibUV

public final class Timer {
    private let handle: UnsafeMutablePointer<uv_timer_t>
    private var callback: (() -> Void)?

    /// The callback is stored once; capture the owner `unowned` to avoid a cycle.
    public init(loop: EventLoop, _ callback: @escaping () -> Void) {
        self.callback = callback
        handle = .allocate(capacity: 1)
        uv_timer_init(loop.raw, handle)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// Fires once after `milliseconds`, replacing any earlier arming.
    public func start(milliseconds: UInt64) {
        guard callback != nil else { return }
        uv_timer_start(handle, { handle in
            Unmanaged<Timer>.fromOpaque(handle!.pointee.data).takeUnretainedValue().callback?()
        }, milliseconds, 0)
    }

    /// Fires every `milliseconds` until stopped.
    public func start(repeatingEvery milliseconds: UInt64) {
        guard callback != nil else { return }
        uv_timer_start(handle, { handle in
            Unmanaged<Timer>.fromOpaque(handle!.pointee.data).takeUnretainedValue().callback?()
        }, milliseconds, milliseconds)
    }

    public func stop() {
        guard callback != nil else { return }
        uv_timer_stop(handle)
    }

    /// Does not keep the loop alive on its own.
    public func unref() { uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) }

    public func close() {
        guard callback != nil else { return }
        callback = nil
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { handle in
            let unmanaged = Unmanaged<Timer>.fromOpaque(handle!.pointee.data)
            unmanaged.takeUnretainedValue().handle.deallocate()
            unmanaged.release()
        }
    }
}
