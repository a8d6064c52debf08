// What an upstream connection's one timer means in each phase, and what its expiry calls for, as a value: the
// connection arms it and carries the answer out.

struct UpstreamDeadline {
    enum Phase: Equatable { case none, connect, awaitingHead, body, pooled }

    enum Expiry: Equatable {
        /// Nothing is due (cleared, or re-armed below).
        case nothing
        /// Not due yet: expire again in this many milliseconds.
        case rearm(UInt64)
        /// Connecting took too long (the connector says which phase).
        case connectTimedOut
        case failed(GatewayFailure)
        /// A pooled connection unused for its idle time.
        case discard
        /// kgb itself held the upstream back (a slow client, a full log) for the whole limit: the exchange decides.
        case heldBack
    }

    private(set) var phase = Phase.none
    /// When the upstream last sent anything (loop milliseconds). Body reads stamp it instead of moving the timer
    /// (that would be work per read); an expiry re-arms itself for the remainder.
    private(set) var lastActivity: UInt64 = 0

    mutating func set(_ phase: Phase, now: UInt64) {
        self.phase = phase
        lastActivity = now
    }

    mutating func clear() { phase = .none }

    /// Bytes arrived, or kgb resumed reading after holding the upstream back (that time is not its silence).
    mutating func activity(at now: UInt64) { lastActivity = now }

    /// The head arrived: from now on the limit is on silence mid-body.
    mutating func headArrived(now: UInt64) {
        if phase == .awaitingHead { set(.body, now: now) }
    }

    /// The timer fired at `now`; `upstreamTimeout` in milliseconds; `readingPaused`: kgb itself stopped reading.
    mutating func expired(now: UInt64, upstreamTimeout limit: UInt64, readingPaused: Bool) -> Expiry {
        switch phase {
        case .none:
            return .nothing
        case .connect:
            return .connectTimedOut
        case .awaitingHead:
            return .failed(GatewayFailure(.upstreamTimeout, "upstream sent no response head within \(limit) ms"))
        case .body:
            if readingPaused {  // held back for a slow client or a full log: not the upstream's silence
                lastActivity = now
                return .heldBack
            }
            let idle = now - lastActivity
            if idle < limit { return .rearm(limit - idle) }
            return .failed(GatewayFailure(.upstreamTimeout, "upstream sent nothing for \(limit) ms mid-response"))
        case .pooled:
            return .discard
        }
    }
}
