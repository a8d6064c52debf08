// One exchange as the logger assembles it from ring records, and its encoding as the JSON record users query
// (field names are a contract: see README "The exchange record").
import Foundation

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

    init(exchange: UInt64) { self.exchange = exchange }
}

/// Parses the loop's text payloads ("Name: value" lines, "key=value" lines) on bytes: the logger handles
/// thousands of records a second, and String indexing per character was most of its time.
enum PayloadText {
    /// The payload's lines (split at "\n"), as byte slices of it.
    static func lines(_ payload: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
        var lines: [UnsafeRawBufferPointer] = []
        var start = 0
        for index in 0..<payload.count where payload[index] == 0x0a {
            lines.append(UnsafeRawBufferPointer(rebasing: payload[start..<index]))
            start = index + 1
        }
        if start < payload.count { lines.append(UnsafeRawBufferPointer(rebasing: payload[start...])) }
        return lines
    }

    static func text(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }

    static func number(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard !bytes.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value &* 10 &+ UInt64(byte - 0x30)
        }
        return value
    }

    /// Splits `line` at the first `separator`: ("Name", "value") for headers (one space after ":" dropped).
    static func pair(_ line: UnsafeRawBufferPointer, _ separator: UInt8) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer)? {
        guard let at = line.firstIndex(of: separator) else { return nil }
        var valueStart = at + 1
        if separator == UInt8(ascii: ":") && valueStart < line.count && line[valueStart] == 0x20 { valueStart += 1 }
        return (UnsafeRawBufferPointer(rebasing: line[..<at]), UnsafeRawBufferPointer(rebasing: line[valueStart...]))
    }

    static func header(_ line: UnsafeRawBufferPointer) -> (String, String)? {
        pair(line, UInt8(ascii: ":")).map { (text($0.0), text($0.1)) }
    }
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
