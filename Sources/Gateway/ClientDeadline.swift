// What a client connection's one timer means between exchanges, and what its expiry calls for, as a value: the
// connection arms it and carries the answer out.

struct ClientDeadline {
    enum Phase: Equatable {
        case none
        /// A request head is due (the first, or the next after keep-alive idle time).
        case header
        /// Keep-alive: the connection waits for its next request.
        case idle
    }

    enum Expiry: Equatable {
        case nothing
        /// No request was started: close the connection quietly.
        case close
        /// A request head began but did not finish in time: answer 408.
        case headTimedOut
        /// The client is still reading the last answer: not idle; look again after another idle period.
        case rearm
    }

    private(set) var phase = Phase.none
    /// The unread bytes seen at the last idle expiry (`Int.max`: none seen yet).
    private var unreadBefore = Int.max

    mutating func set(_ phase: Phase) {
        self.phase = phase
        unreadBefore = .max
    }

    mutating func clear() { phase = .none }

    /// The timer fired. `requestStarted`: bytes of a request were read; `unreadBytes`: what the client has not
    /// yet taken of the last answer (asked only here, since it costs a system call).
    mutating func expired(requestStarted: Bool, unreadBytes: () -> Int) -> Expiry {
        switch phase {
        case .none:
            return .nothing
        case .header:
            return requestStarted ? .headTimedOut : .close
        case .idle:
            // Idle means nothing left to read, or no progress since the last look; a slow reader is given time.
            let unread = unreadBytes()
            guard unread > 0 && unread < unreadBefore else { return .close }
            unreadBefore = unread
            return .rearm
        }
    }
}
