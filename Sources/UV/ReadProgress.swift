// Whether a peer is taking what was queued for it, judged from one look to the next at the bytes it has not read
// (`TCPStream.unreadBytes`). Deadlines that must spare a slow reader but not a stalled one use it.

public struct ReadProgress: Sendable {
    private var unreadBefore = Int.max

    public init() {}

    /// True when something is still unread, and less of it than at the last look (at the first look, any).
    public mutating func isReading(unread: Int) -> Bool {
        defer { unreadBefore = unread }
        return unread > 0 && unread < unreadBefore
    }
}
