// Runs a callback once per loop iteration, right after I/O has been processed (uv_check): the place to do
// per-iteration work such as ringing the logger's doorbell once for everything the iteration produced.
internal import CLibUV

public final class LoopCheck {
    private var handle: LoopHandle<uv_check_t>!
    private var callback: (() -> Void)?

    public init(loop: EventLoop, _ callback: @escaping () -> Void) {
        self.callback = callback
        handle = LoopHandle(owner: self)
        uv_check_init(loop.raw, handle.pointer)
        uv_check_start(handle.pointer) { LoopHandle<uv_check_t>.withOwner(of: $0, as: LoopCheck.self) { $0.callback?() } }
        handle.unref()  // per-iteration work alone must not keep the loop running
    }

    public func close() {
        guard callback != nil else { return }
        callback = nil
        handle.close()
    }
}
