// A libuv timer calling one closure, created once per owner and re-armed as often as needed.
internal import CLibUV

public final class Timer {
    private var handle: LoopHandle<uv_timer_t>!
    private var callback: (() -> Void)?
    private let loop: EventLoop

    /// The callback is stored once; capture the owner `unowned` to avoid a cycle.
    public init(loop: EventLoop, _ callback: @escaping () -> Void) {
        self.loop = loop
        self.callback = callback
        handle = LoopHandle(owner: self)
        uv_timer_init(loop.raw, handle.pointer)
    }

    /// Fires once after `milliseconds`, replacing any earlier arming.
    public func start(milliseconds: UInt64) {
        loop.assertOnLoopThread()
        guard callback != nil else { return }
        uv_timer_start(handle.pointer, { LoopHandle<uv_timer_t>.withOwner(of: $0, as: Timer.self) { $0.callback?() } }, milliseconds, 0)
    }

    /// Fires every `milliseconds` until stopped.
    public func start(repeatingEvery milliseconds: UInt64) {
        loop.assertOnLoopThread()
        guard callback != nil else { return }
        uv_timer_start(handle.pointer, { LoopHandle<uv_timer_t>.withOwner(of: $0, as: Timer.self) { $0.callback?() } },
                       milliseconds, milliseconds)
    }

    public func stop() {
        guard callback != nil else { return }
        uv_timer_stop(handle.pointer)
    }

    /// Does not keep the loop alive on its own.
    public func unref() { handle.unref() }

    public func close() {
        guard callback != nil else { return }
        callback = nil
        handle.close()
    }
}
