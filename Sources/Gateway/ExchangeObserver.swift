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
    /// Called exactly once per started exchange, whatever its outcome.
    func exchangeEnded(_ id: UInt64, outcome: Outcome, error: String?, timing: ExchangeTiming)
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

/// Logs nothing (`--log none`).
public final class NoExchangeLog: ExchangeObserver {
    public init() {}
    public func exchangeStarted(_ id: UInt64, client: String, upstream: [UInt8], request: HTTPHead) {}
    public func requestBody(_ id: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool { true }
    public func responseHead(_ id: UInt64, _ head: HTTPHead) {}
    public func responseBody(_ id: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool { true }
    public func exchangeEnded(_ id: UInt64, outcome: Outcome, error: String?, timing: ExchangeTiming) {}
    public func notifyWhenRoom(_ waiter: LogRoomWaiter) { waiter.logHasRoom() }
}
