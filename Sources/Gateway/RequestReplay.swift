// What failover needs to send a request again to a route's next upstream: the client's head and the body bytes
// written upstream so far (framed as sent), kept only for routes with more than one upstream, only up to
// `--retry-body-max`, and only until the response starts.
import HTTP1

struct RequestReplay {
    enum State {
        /// Nothing kept: the route has one upstream, or the exchange no longer needs it.
        case off
        /// Every request byte so far is kept.
        case keeping(head: HTTPHead, target: Range<Int>, body: [UInt8])
        /// The body outgrew the limit: this request cannot be sent again.
        case overflowed
    }

    private(set) var state = State.off
    let limit: Int

    init(limit: Int) { self.limit = limit }

    mutating func start(_ head: HTTPHead, target: Range<Int>) { state = .keeping(head: head, target: target, body: []) }

    /// A copy of body bytes written upstream (chunk framing included).
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard case .keeping(let head, let target, var body) = state else { return }
        state = .off  // the body array is uniquely referenced while it grows
        guard body.count + bytes.count <= limit else {
            state = .overflowed
            return
        }
        body.append(contentsOf: bytes)
        state = .keeping(head: head, target: target, body: body)
    }

    var canReplay: Bool { if case .keeping = state { true } else { false } }

    /// Drops what is kept (the response started, or the exchange ended).
    mutating func release() { state = .off }
}
