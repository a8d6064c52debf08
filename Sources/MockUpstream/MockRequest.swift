// A request as the routes see it (head fields copied out of the parser, body summarised or kept), and the
// per-request knobs read from its query string or x-mock-* headers.
import Foundation
import HTTP1

struct MockRequest {
    var method: HTTPMethod
    /// As received: origin form, or the path of an absolute-form target.
    var target: String
    var path: String
    var query: [(String, String)]
    /// In received order, names as received.
    var headers: [(String, String)]
    var version: String
    var isHTTP11: Bool
    /// The client allows another request after this one (llhttp's reading of version and Connection).
    var keepAlive: Bool

    /// SNI and ALPN when the request came over TLS.
    var tls: (serverName: String?, alpn: String?)?
    var bodyBytes: UInt64 = 0
    var bodyCRC: UInt = 0
    /// Only for routes that read the body, and only up to `Connection.maxKeptBody`.
    var body: [UInt8] = []

    init(head: HTTPHead) {
        method = head.method
        target = head.targetString
        headers = head.headerPairs
        version = "\(head.versionMajor).\(head.versionMinor)"
        isHTTP11 = head.isHTTP11OrLater
        keepAlive = head.keepAlive
        var pathAndQuery = Substring(target)
        // Absolute form (a client talking to us as a proxy): the routes only care about the path.
        if let scheme = pathAndQuery.range(of: "://") {
            let rest = pathAndQuery[scheme.upperBound...]
            pathAndQuery = rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
        }
        let parts = pathAndQuery.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts.first ?? "/")
        query = []
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let nameValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let decode = { (text: Substring) in String(text).removingPercentEncoding ?? String(text) }
                query.append((decode(nameValue[0]), nameValue.count > 1 ? decode(nameValue[1]) : ""))
            }
        }
    }

    var methodName: String { method.description }

    func queryValue(_ name: String) -> String? {
        query.first { $0.0 == name }?.1
    }

    func header(_ lowercaseName: String) -> String? {
        headers.first { $0.0.lowercased() == lowercaseName }?.1
    }

    /// A knob's value: the query parameter wins over the header.
    func knob(header: String, query name: String) -> String? {
        queryValue(name) ?? self.header(header)
    }
}

struct KnobError: Error {
    let message: String
}

/// The defaults given on the command line.
struct Defaults {
    var events: Int
    var intervalMs: UInt64
}

/// How to answer one request beyond what its route decides.
struct Knobs {
    var events: Int
    var intervalMs: UInt64
    var gzip = false
    var fault: Fault? = nil
    var faultAfter = 3
    var timestamps = false
    /// Prompt-cache tokens the usage reports (nil: the API's usual zeros, or nothing for OpenAI): Anthropic's
    /// cache_read_input_tokens and cache_creation_input_tokens, OpenAI's prompt_tokens_details.cached_tokens.
    var cacheRead: UInt64? = nil
    var cacheWrite: UInt64? = nil

    /// Only the defaults: for answering a request whose knobs could not be read.
    init(_ defaults: Defaults) {
        events = defaults.events
        intervalMs = defaults.intervalMs
    }

    init(_ request: MockRequest, defaults: Defaults) throws(KnobError) {
        self.init(defaults)
        if let text = request.knob(header: "x-mock-events", query: "events") {
            events = try Self.number(text, "events", max: 100_000_000)
        }
        if let text = request.knob(header: "x-mock-interval-ms", query: "interval_ms") {
            intervalMs = UInt64(try Self.number(text, "interval_ms", max: 3_600_000))
        }
        if let text = request.knob(header: "x-mock-gzip", query: "gzip") {
            gzip = try Self.flag(text, "gzip")
        }
        if let text = request.knob(header: "x-mock-timestamps", query: "timestamps") {
            timestamps = try Self.flag(text, "timestamps")
        }
        if let text = request.knob(header: "x-mock-fault", query: "fault"), !text.isEmpty {
            guard let parsed = Fault(rawValue: text.lowercased()) else {
                throw KnobError(message: "unknown fault '\(text)'; one of: \(Fault.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            fault = parsed
        }
        if let text = request.knob(header: "x-mock-fault-after", query: "fault_after") {
            faultAfter = try Self.number(text, "fault_after", max: Int.max)
        }
        if let text = request.knob(header: "x-mock-cache-read", query: "cache_read") {
            cacheRead = UInt64(try Self.number(text, "cache_read", max: 100_000_000))
        }
        if let text = request.knob(header: "x-mock-cache-write", query: "cache_write") {
            cacheWrite = UInt64(try Self.number(text, "cache_write", max: 100_000_000))
        }
    }

    static func number(_ text: String, _ name: String, max: Int) throws(KnobError) -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0, value <= max else {
            throw KnobError(message: "\(name) must be a whole number from 0 to \(max) (got '\(text)')")
        }
        return value
    }

    static func flag(_ text: String, _ name: String) throws(KnobError) -> Bool {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off", "": return false
        default: throw KnobError(message: "\(name) must be 1 or 0 (got '\(text)')")
        }
    }
}
