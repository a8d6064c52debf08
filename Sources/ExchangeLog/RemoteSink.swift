// A sink that sends records off the machine (PostgreSQL, an HTTP collector, OpenTelemetry). It never sees the
// loop or the ring: records reach it from the spool, on a delivery thread of its own, which calls `deliver` with a
// batch and blocks until the store has acknowledged it or refused it. What the thread does with a failure (retry
// with backoff, dead-letter) is the spool's business; the sink only says which kind it was.

public protocol RemoteSink: AnyObject {
    /// For messages, metrics and the spool's cursor file: the destination without credentials (`postgres://h/db`).
    var name: String { get }

    /// Delivers a batch, each record one JSON object (the line a JSONL sink writes, without its newline). Returns
    /// when every record is stored (a replay of records already stored must not duplicate them). Blocking.
    func deliver(_ records: [[UInt8]]) throws(DeliveryFailure)

    /// Releases connections; no `deliver` follows.
    func close()
}

public struct DeliveryFailure: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The store is down, overloaded or unreachable: send the same batch again later (after `afterSeconds` when
        /// the store said so, e.g. Retry-After).
        case retry(afterSeconds: Double?)
        /// The store refused this batch as it is (a 4xx other than 429): sending it again cannot help. It goes to the
        /// dead-letter directory.
        case reject
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
