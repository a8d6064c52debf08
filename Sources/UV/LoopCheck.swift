// Runs a callback once per loop iteration, right after I/O has been processed (uv_check): the place to do
// per-iteration work such as ringing the logger's doorbell once for everything the iteration produced.
import CLibUV

public final class LoopCheck {
    private let handle: UnsafeMutablePointer<uv_check_t>
    private var callback: (() -> Void)?

    public init(loop: EventLoop, _ callback: @escaping () -> Void) {
        self.callback = callback
        handle = .allocate(capacity: 1)
        uv_check_init(loop.raw, handle)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        uv_check_start(handle) { handle in
            Unmanaged<LoopCheck>.fromOpaque(handle!.pointee.data).takeUnretainedValue().callback?()
        }
        // Per-iteration work alone must not keep the loop running.
        uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self))
    }

    public func close() {
        guard callback != nil else { return }
        callback = nil
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { handle in
            let unmanaged = Unmanaged<LoopCheck>.fromOpaque(handle!.pointee.data)
            unmanaged.takeUnretainedValue().handle.deallocate()
            unmanaged.release()
        }
    }
}
