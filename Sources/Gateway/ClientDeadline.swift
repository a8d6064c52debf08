// What a client connection's one timer means between exchanges, and what its expiry calls for, as a value: the
// connection arms it and carries the answer out.
import UV

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
    /// Whether the client is still taking its last answer, from one idle expiry to the next.
    private var progress = ReadProgress()

    mutating func set(_ phase: Phase) {
        self.phase = phase
        progress = ReadProgress()
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
            return progress.isReading(unread: unreadBytes()) ? .rearm : .close
        }
    }
}
