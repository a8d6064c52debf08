// The seam where the exchange log attaches: every phase of every exchange passes through exactly one call
// here, on the loop thread, in the order it happens. Implementations must not block or hold the bytes.
import HTTP1

public protocol ExchangeObserver: AnyObject {
    /// `upstream`: the chosen route's upstream URL (empty when the request was rejected before routing).
    func exchangeStarted(_ id: UInt64, client: String, upstream: [UInt8], request: HTTPHead)
    /// Returns false when the log cannot take more now (pause policy): the caller stops reading that side
    /// and waits for `logHasRoom` on the waiter it registers with `notifyWhenRoom`.
    func requestBody(_ id: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool
    func responseHead(_ id: UInt64, _ head: HTTPHead)
    func responseBody(_ id: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool
    /// An attempt that did not answer the client (failover goes on to the next upstream).
    func attemptFailed(_ id: UInt64, _ attempt: FailedAttempt)
    /// Called exactly once per started exchange, whatever its outcome.
    func exchangeEnded(_ id: UInt64, _ end: ExchangeEnd)
    func notifyWhenRoom(_ waiter: LogRoomWaiter)
}

public protocol LogRoomWaiter: AnyObject {
    func logHasRoom()
}

public struct ExchangeTiming: Sendable {
    /// Monotonic nanoseconds (uv_hrtime); zero when the phase was never reached.
    public var started: UInt64 = 0
    public var upstreamConnected: UInt64 = 0
    /// The TLS handshake's duration in nanoseconds when this exchange opened the connection (0: none).
    public var upstreamTLSHandshake: UInt64 = 0
    public var upstreamTLSResumed = false
    public var responseHead: UInt64 = 0
    public var firstBodyByte: UInt64 = 0
    public var ended: UInt64 = 0
    public var requestBodyBytes: UInt64 = 0
    public var responseBodyBytes: UInt64 = 0
}

/// How an exchange ended, for its record.
public struct ExchangeEnd {
    public var outcome: Outcome
    public var error: String?
    public var timing: ExchangeTiming
    /// The agent that sent it (its index in the AgentRegistry), when agents are configured and its key was known.
    public var agent: Int?
    /// The upstream that answered, when failover moved the exchange off the one it started with.
    public var upstream: [UInt8]?

    public init(outcome: Outcome, error: String?, timing: ExchangeTiming, agent: Int? = nil, upstream: [UInt8]? = nil) {
        self.outcome = outcome
        self.error = error
        self.timing = timing
        self.agent = agent
        self.upstream = upstream
    }
}

/// One upstream tried before the one that answered: what it said (`status`, 0 for none) or why it failed.
public struct FailedAttempt {
    public var upstream: [UInt8]
    public var status: Int
    public var error: String?
    public var nanos: UInt64

    public init(upstream: [UInt8], status: Int, error: String?, nanos: UInt64) {
        self.upstream = upstream
        self.status = status
        self.error = error
        self.nanos = nanos
    }
}

/// Logs nothing (`--log none`).
public final class NoExchangeLog: ExchangeObserver {
    public init() {}
    public func exchangeStarted(_ id: UInt64, client: String, upstream: [UInt8], request: HTTPHead) {}
    public func requestBody(_ id: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool { true }
    public func responseHead(_ id: UInt64, _ head: HTTPHead) {}
    public func responseBody(_ id: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool { true }
    public func attemptFailed(_ id: UInt64, _ attempt: FailedAttempt) {}
    public func exchangeEnded(_ id: UInt64, _ end: ExchangeEnd) {}
    public func notifyWhenRoom(_ waiter: LogRoomWaiter) { waiter.logHasRoom() }
}
