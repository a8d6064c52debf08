// One exchange as the logger assembles it from ring records, and its encoding as the JSON record users query
// (field names are a contract: see README "The exchange record").
import Foundation
import LogRing

/// A class: the assembler's table holds it while body fragments arrive, and each fragment changes it in place
/// (a struct in a dictionary was copied on every fragment).
final class ExchangeRecord {
    let exchange: UInt64
    var startedWallMicros: UInt64 = 0
    var startedMonotonic: UInt64 = 0
    /// Monotonic time of the fragment that carried the first answer text.
    var firstTokenAt: UInt64?
    var client = ""
    var upstream = ""
    var method = ""
    var path = ""
    var version = ""
    var requestHeaders: [(String, String)] = []
    var requestBody: [UInt8] = []
    var requestBytes = 0
    var requestTruncated = false

    var status: Int?
    var responseHeaders: [(String, String)] = []
    var contentEncoding: String?
    var isEventStream = false
    var isJSON = false
    var inflater: Inflater?
    var inflateFailed = false
    var responseBody: [UInt8] = []
    var responseBytes = 0
    var responseTruncated = false
    var sse: SSEAnalyzer?

    // From the end record.
    var outcome = "complete"
    var error: String?
    var figures = EndFigures()
    /// The agent's index in the registry (with `--agents`).
    var agentIndex: Int?
    /// Upstreams tried before the one that answered (failover).
    var failedAttempts: [LogPayload.End.Attempt] = []

    init(exchange: UInt64) { self.exchange = exchange }
}

/// What the end record reports, in nanoseconds from the request head (0: phase not reached) and bytes.
struct EndFigures {
    var connectNs: UInt64 = 0
    /// The TLS handshake's duration, when this exchange opened the connection (0: none).
    var tlsNs: UInt64 = 0
    var tlsResumed = false
    var headNs: UInt64 = 0
    var firstByteNs: UInt64 = 0
    var firstTokenNs: UInt64 = 0
    var totalNs: UInt64 = 0
    var requestBytes: UInt64?
    var responseBytes: UInt64?
    var droppedBytes: UInt64 = 0
}
