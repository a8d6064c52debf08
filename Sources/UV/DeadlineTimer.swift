internal import CLibUV

// A timer that is cheap to move and cheap to hold: setting or clearing the deadline is a field write, and the
// loop's one deadline heap (one libuv timer for every connection's deadline) is only touched when the new deadline
// is earlier than the one the timer waits for there. A connection moves its deadline several times per request,
// and thousands of held streams each hold two deadlines: with a libuv timer apiece those cost ~500 bytes a stream.

/// Loop-owned, one per connection (or anything with a deadline). Call `close()` before letting it go.
public final class DeadlineTimer {
    /// The loop (and its heap) outlive every timer on it. Held unmanaged and used as guaranteed references: moving a
    /// deadline is a hot path (several times per request), and an `unowned(unsafe)` reference is still retained and
    /// released around each use.
    private let loop: UnsafeMutablePointer<uv_loop_t>
    private let heap: Unmanaged<DeadlineHeap>
    private var onExpiry: () -> Void
    /// Loop milliseconds at which `onExpiry` is due; 0 for none.
    public private(set) var deadline: UInt64 = 0
    /// When this timer's turn in the heap comes (it then checks `deadline`); 0 when it is not in the heap.
    fileprivate var waitsFor: UInt64 = 0
    /// Its place in the heap's array; -1 when not in the heap.
    fileprivate var heapIndex = -1

    /// `onExpiry` is stored once; capture the owner `unowned` to avoid a cycle.
    public convenience init(loop: EventLoop, _ onExpiry: @escaping () -> Void) {
        self.init(loop: loop)
        self.onExpiry = onExpiry
    }

    /// A timer whose action is given later (`whenDue`), so that an owner can hold it in a `let` made before the
    /// owner exists: an owner's `var` or implicitly unwrapped reference is retained and released around every use.
    public init(loop: EventLoop) {
        self.loop = loop.raw
        heap = Unmanaged.passUnretained(loop.deadlines)
        onExpiry = {}
    }

    /// What the timer does when due; capture the owner `unowned` to avoid a cycle.
    public func whenDue(_ action: @escaping () -> Void) { onExpiry = action }

    /// Expires `milliseconds` from now (the loop's cached clock).
    @inline(__always)
    public func expire(in milliseconds: UInt64) {
        deadline = uv_now(loop) &+ milliseconds
        if waitsFor == 0 || deadline < waitsFor { heap._withUnsafeGuaranteedRef { $0.schedule(self, at: deadline) } }
    }

    /// No deadline. The timer may still come up in the heap once and find nothing due.
    @inline(__always)
    public func clear() { deadline = 0 }

    /// Leaves the heap: nothing fires after this.
    public func close() {
        deadline = 0
        heap._withUnsafeGuaranteedRef { $0.remove(self) }
    }

    /// Its turn in the heap came (it is out of the heap now).
    fileprivate func turnCame(now: UInt64) {
        guard deadline != 0 else { return }
        if now < deadline { return heap._withUnsafeGuaranteedRef { $0.schedule(self, at: deadline) } }
        deadline = 0
        onExpiry()
    }
}

/// The deadlines of one loop's timers: a binary min-heap on `waitsFor`, each timer knowing its index (so closing
/// one is O(log n)), behind one libuv timer armed for the earliest.
final class DeadlineHeap {
    private unowned(unsafe) let loop: EventLoop
    private var heap: [DeadlineTimer] = []
    private var timer: Timer?
    /// When the libuv timer fires; 0 when stopped.
    private var timerDue: UInt64 = 0

    init(loop: EventLoop) {
        self.loop = loop
    }

    func schedule(_ entry: DeadlineTimer, at when: UInt64) {
        if entry.heapIndex < 0 {
            entry.heapIndex = heap.count
            heap.append(entry)
            entry.waitsFor = when
            siftUp(entry.heapIndex)
        } else {
            let earlier = when < entry.waitsFor
            entry.waitsFor = when
            if earlier { siftUp(entry.heapIndex) } else { siftDown(entry.heapIndex) }
        }
        arm()
    }

    func remove(_ entry: DeadlineTimer) {
        let index = entry.heapIndex
        guard index >= 0 else { return }
        take(at: index)
        arm()
    }

    /// Removes the entry at `index`, keeping the heap in order.
    private func take(at index: Int) {
        let entry = heap[index]
        let last = heap.count - 1
        if index != last {
            heap.swapAt(index, last)
            heap[index].heapIndex = index
        }
        heap.removeLast()
        entry.heapIndex = -1
        entry.waitsFor = 0
        // The last entry, moved into the gap, goes whichever way it belongs.
        if index < heap.count {
            if index > 0 && heap[index].waitsFor < heap[(index - 1) / 2].waitsFor { siftUp(index) } else { siftDown(index) }
        }
    }

    /// The libuv timer set for the earliest entry (left as it is when it already fires no later), stopped when
    /// there is none, so an idle loop has no timer waking it.
    private func arm() {
        guard let first = heap.first else {
            if timerDue != 0 {
                timer?.stop()
                timerDue = 0
            }
            return
        }
        guard timerDue == 0 || first.waitsFor < timerDue else { return }
        timerDue = first.waitsFor
        let now = loop.now
        if timer == nil { timer = Timer(loop: loop) { [unowned self] in self.fire() } }
        timer!.start(milliseconds: first.waitsFor > now ? first.waitsFor - now : 0)
    }

    private func fire() {
        timerDue = 0
        let now = loop.now
        // Each turn may schedule or close any timer (a connection closing on expiry): the heap is read afresh.
        while let first = heap.first, first.waitsFor <= now {
            take(at: 0)
            first.turnCame(now: now)
        }
        arm()
    }

    private func siftUp(_ start: Int) {
        var index = start
        while index > 0 {
            let parent = (index - 1) / 2
            guard heap[index].waitsFor < heap[parent].waitsFor else { break }
            heap.swapAt(index, parent)
            heap[index].heapIndex = index
            heap[parent].heapIndex = parent
            index = parent
        }
    }

    private func siftDown(_ start: Int) {
        var index = start
        let count = heap.count
        while true {
            let left = 2 * index + 1
            guard left < count else { break }
            var smallest = left
            if left + 1 < count && heap[left + 1].waitsFor < heap[left].waitsFor { smallest = left + 1 }
            guard heap[smallest].waitsFor < heap[index].waitsFor else { break }
            heap.swapAt(index, smallest)
            heap[index].heapIndex = index
            heap[smallest].heapIndex = smallest
            index = smallest
        }
    }
}
