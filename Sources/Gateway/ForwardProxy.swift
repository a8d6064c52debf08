// An HTTP forward proxy on the way to the upstreams (`--upstream-proxy`, HTTPS_PROXY/HTTP_PROXY), and the
// NO_PROXY rules that exempt hosts from it.

public struct ForwardProxy: Equatable, CustomStringConvertible, Sendable {
    public let host: String
    public let port: Int
    /// `Basic base64(user:password)` when the URL carried credentials.
    public let authorization: String?

    /// `http://[user:password@]host[:port][/]`; the port is 80 when absent; credentials may be percent-encoded.
    public init(_ text: String) throws(UpstreamURL.ParseError) {
        var rest = Substring(text)
        let parts = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard parts[0].lowercased() == "http" else {
                throw .invalid("'\(ForwardProxy.redacted(text))': only http:// forward proxies are supported")
            }
            rest = parts[1]
        }
        while rest.hasSuffix("/") { rest.removeLast() }
        guard !rest.contains("/") else { throw .invalid("'\(ForwardProxy.redacted(text))': a proxy URL has no path") }
        var authorization: String? = nil
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            guard credentials.contains(":") else {
                throw .invalid("'\(ForwardProxy.redacted(text))': proxy credentials must be user:password")
            }
            authorization = "Basic " + Base64.encode(Array(PercentDecoding.decode(credentials).utf8))
            rest = rest[rest.index(after: at)...]
        }
        let origin = try UpstreamURL("http://" + rest)
        host = origin.host
        port = origin.port
        self.authorization = authorization
    }

    /// `host:port`, never the credentials (this is what errors and logs show).
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        let parts = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        return (parts.count == 2 ? parts[0] + "://" : "") + "***" + String(text[at...])
    }
}

/// NO_PROXY as curl and most tools read it: comma- or space-separated entries; `*` matches every host; an entry
/// matches the host itself and its subdomains (a leading dot is optional); `host:port` limits it to one port;
/// IP addresses match exactly.
public struct NoProxyRules: Sendable {
    private let entries: [(host: String, port: Int?)]
    private let matchesAll: Bool

    public init(_ text: String) {
        var entries: [(String, Int?)] = []
        var all = false
        for raw in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
            var entry = raw.lowercased()
            if entry == "*" { all = true; continue }
            var port: Int? = nil
            if let colon = entry.lastIndex(of: ":"), !entry.hasSuffix("]"), entry.firstIndex(of: ":") == colon,
               let parsed = Int(entry[entry.index(after: colon)...]) {
                port = parsed
                entry = String(entry[..<colon])
            }
            if entry.hasPrefix("[") && entry.hasSuffix("]") { entry = String(entry.dropFirst().dropLast()) }
            while entry.hasPrefix(".") { entry.removeFirst() }
            if !entry.isEmpty { entries.append((entry, port)) }
        }
        self.entries = entries
        matchesAll = all
    }

    public func exempts(host: String, port: Int) -> Bool {
        if matchesAll { return true }
        let host = host.lowercased()
        return entries.contains { entry in
            if let entryPort = entry.port, entryPort != port { return false }
            return host == entry.host || host.hasSuffix("." + entry.host)
        }
    }
}

/// Which proxy, if any, carries requests to `upstream`: the explicit one (`--upstream-proxy`, "" for none
/// even when the environment names one), else the scheme's environment variable (lower case first, as curl
/// reads them); NO_PROXY exempts hosts either way.
public func forwardProxy(for upstream: UpstreamURL, explicit: String?, environment: [String: String]) throws(UpstreamURL.ParseError) -> ForwardProxy? {
    let text: String?
    if let explicit {
        text = explicit
    } else if upstream.scheme == .https {
        text = environment["https_proxy"] ?? environment["HTTPS_PROXY"]
    } else {
        text = environment["http_proxy"] ?? environment["HTTP_PROXY"]
    }
    guard let text, !text.isEmpty else { return nil }
    let rules = NoProxyRules(environment["no_proxy"] ?? environment["NO_PROXY"] ?? "")
    if rules.exempts(host: upstream.host, port: upstream.port) { return nil }
    return try ForwardProxy(text)
}

enum PercentDecoding {
    static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
               let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = 0
            for (offset, byte) in chunk.enumerated() { value |= Int(byte) << (16 - 8 * offset) }
            for position in 0..<4 {
                out.append(position <= chunk.count ? alphabet[(value >> (18 - 6 * position)) & 63] : UInt8(ascii: "="))
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
