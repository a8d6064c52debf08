// An upstream origin parsed from a URL: `http://host[:port][/base/path]`.

public struct UpstreamURL: Equatable, CustomStringConvertible, Sendable {
    public enum Scheme: String, Sendable { case http, https }

    public let scheme: Scheme
    /// Host name or address, without IPv6 brackets.
    public let host: String
    public let port: Int
    /// The path as written after the authority ("" when none was written). On a route it replaces the
    /// matched prefix; with none, the request path is forwarded as it is.
    public let path: String
    /// `path` without a trailing slash.
    public var basePath: String {
        var base = Substring(path)
        while base.hasSuffix("/") { base.removeLast() }
        return String(base)
    }

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case invalid(String)
        public var description: String { if case .invalid(let why) = self { return why }; return "" }
    }

    public init(_ text: String) throws(ParseError) {
        let parts = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw .invalid("'\(text)' is not a URL: expected http://host[:port][/path]")
        }
        guard let scheme = Scheme(rawValue: parts[0].lowercased()) else {
            throw .invalid("'\(text)': the scheme must be http or https")
        }
        var rest = parts[1]
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        if rest.contains("@") { throw .invalid("'\(text)': credentials in the upstream URL are not supported") }
        var host: String
        var portText: Substring? = nil
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .invalid("'\(text)': unclosed '[' in the host") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw .invalid("'\(text)': unexpected text after the host")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
        }
        guard !host.isEmpty else { throw .invalid("'\(text)': the host is missing") }
        var port = scheme == .https ? 443 : 80
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw .invalid("'\(text)': the port must be a number from 1 to 65535")
            }
            port = parsed
        }
        if path.contains("?") || path.contains("#") { throw .invalid("'\(text)': a query or fragment is not allowed") }
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
    }

    /// The `Host` header value: the port only when it is not the scheme's default (RFC 9110 §7.2).
    public var authority: String {
        let name = host.contains(":") ? "[\(host)]" : host
        let defaultPort = scheme == .https ? 443 : 80
        return port == defaultPort ? name : "\(name):\(port)"
    }

    public var description: String { "\(scheme.rawValue)://\(authority)\(path)" }
}
