// A timer that is cheap to move: setting or clearing the deadline is a field write, and the underlying libuv
// timer (a heap entry) is only touched when the new deadline is earlier than the one it is armed for. A
// connection moves its deadline several times per request; this keeps those moves off the timer heap.
internal import CLibUV

public final class DeadlineTimer {
    private let loop: EventLoop
    private var timer: Timer!
    private let onExpiry: () -> Void
    /// Loop milliseconds at which `onExpiry` is due; 0 for none.
    public private(set) var deadline: UInt64 = 0
    /// When the libuv timer will fire next; 0 when not armed.
    private var armedFor: UInt64 = 0

    /// `onExpiry` is stored once; capture the owner `unowned` to avoid a cycle.
    public init(loop: EventLoop, _ onExpiry: @escaping () -> Void) {
        self.loop = loop
        self.onExpiry = onExpiry
        timer = Timer(loop: loop) { [unowned self] in self.fired() }
    }

    /// Expires `milliseconds` from now (the loop's cached clock).
    @inline(__always)
    public func expire(in milliseconds: UInt64) {
        deadline = loop.now &+ milliseconds
        if armedFor == 0 || deadline < armedFor {
            armedFor = deadline
            timer.start(milliseconds: milliseconds)
        }
    }

    /// No deadline. The libuv timer may still fire once and find nothing due.
    @inline(__always)
    public func clear() { deadline = 0 }

    /// Does not keep the loop alive on its own.
    public func unref() { timer.unref() }

    public func close() {
        deadline = 0
        timer.close()
    }

    private func fired() {
        armedFor = 0
        guard deadline != 0 else { return }
        let now = loop.now
        if now < deadline {
            armedFor = deadline
            timer.start(milliseconds: deadline - now)
            return
        }
        deadline = 0
        onExpiry()
    }
}
