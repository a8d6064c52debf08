// The seam between an upstream connection and the exchange it carries: the upstream side reports through this
// protocol and knows nothing of the client side (ExchangeRelay implements it).
import HTTP1

/// What an upstream connection reports to the exchange it carries, in the order it happens.
protocol UpstreamResponseHandler: AnyObject {
    func upstreamReady(_ connection: UpstreamConnection)
    func responseHead(_ head: HTTPHead) -> HeadVerdict
    func responseBody(_ bytes: UnsafeRawBufferPointer)
    func responseChunkStarts(size: UInt64)
    func responseChunkEnds()
    func responseComplete(reusable: Bool)
    func upstreamFailed(_ failure: GatewayFailure)
    /// The request bytes queued towards the upstream fell below the low watermark.
    func upstreamDrained()
    /// A read's worth of response was handed over: time to send it on.
    func upstreamReadDone()
    /// kgb has kept the upstream from being read for `milliseconds` (the client is slow, or the log full). Returns
    /// whether the exchange goes on (false: the handler ended it).
    func upstreamHeldBack(for milliseconds: UInt64) -> Bool
}
