// One exchange as the logger assembles it from ring records, and its encoding as the JSON record users query
// (field names are a contract: see README "The exchange record").
import Foundation

struct ExchangeRecord {
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
    var timing: [String: UInt64] = [:]

    init(exchange: UInt64) { self.exchange = exchange }
}

/// Parses the loop's text payloads: "Name: value" lines, "key=value" lines.
enum PayloadText {
    static func lines(_ payload: UnsafeRawBufferPointer) -> [Substring] {
        String(decoding: payload, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    }

    static func header(_ line: Substring) -> (String, String)? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let value = line[line.index(after: colon)...].drop(while: { $0 == " " })
        return (String(line[..<colon]), String(value))
    }
}
