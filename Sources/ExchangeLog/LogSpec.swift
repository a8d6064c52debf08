// `--log SPEC` values: jsonl:PATH, stdout, sqlite:PATH, none.

public enum LogSpec: Equatable, Sendable, CustomStringConvertible {
    /// A destination that sends records off the machine, through the spool.
    public var isRemote: Bool {
        switch self {
        case .postgres, .collector, .otlp: true
        case .jsonLines, .standardOutput, .sqlite, .none: false
        }
    }

    /// The URL with any password replaced (for messages and metrics labels).
    public static func withoutPassword(_ url: String) -> String {
        guard let scheme = url.firstRange(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
        let userInfo = url[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    case jsonLines(path: String)
    case standardOutput
    case sqlite(path: String)
    /// `postgres://USER[:PASS]@HOST[:PORT]/DB[?sslmode=...]` (or `postgresql://`), through libpq.
    case postgres(url: String)
    /// `http[s]://HOST[:PORT]/PATH`: batches of NDJSON posted to a collector.
    case collector(url: String)
    /// `otlp+http[s]://HOST[:PORT]`: one span per exchange, OTLP/HTTP protobuf to `/v1/traces`.
    case otlp(url: String)
    case none

    public static let defaultSpec = LogSpec.jsonLines(path: "./kgb-logs/exchanges.jsonl")

    public init(parsing text: String) throws(SinkError) {
        if text == "stdout" { self = .standardOutput; return }
        if text == "none" { self = .none; return }
        if text.hasPrefix("jsonl:"), text.count > 6 { self = .jsonLines(path: String(text.dropFirst(6))); return }
        if text.hasPrefix("sqlite:"), text.count > 7 { self = .sqlite(path: String(text.dropFirst(7))); return }
        for scheme in ["postgres://", "postgresql://"] where text.hasPrefix(scheme) && text.count > scheme.count {
            self = .postgres(url: text)
            return
        }
        for scheme in ["http://", "https://"] where text.hasPrefix(scheme) && text.count > scheme.count {
            self = .collector(url: text)
            return
        }
        for scheme in ["otlp+http://", "otlp+https://"] where text.hasPrefix(scheme) && text.count > scheme.count {
            self = .otlp(url: text)
            return
        }
        throw SinkError("'\(text)' is not a log destination: use jsonl:PATH, sqlite:PATH, stdout, postgres://..., "
                        + "http[s]://... (a collector), otlp+http://... or none")
    }

    public var description: String {
        switch self {
        case .jsonLines(let path): "jsonl:\(path)"
        case .standardOutput: "stdout"
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let url), .collector(let url), .otlp(let url): LogSpec.withoutPassword(url)
        case .none: "none"
        }
    }
}
