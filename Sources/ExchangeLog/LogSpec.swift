// `--log SPEC` values: jsonl:PATH, stdout, sqlite:PATH, none.

public enum LogSpec: Equatable, Sendable, CustomStringConvertible {
    case jsonLines(path: String)
    case standardOutput
    case sqlite(path: String)
    case none

    public static let defaultSpec = LogSpec.jsonLines(path: "./kgb-logs/exchanges.jsonl")

    public init(parsing text: String) throws(SinkError) {
        if text == "stdout" { self = .standardOutput; return }
        if text == "none" { self = .none; return }
        if text.hasPrefix("jsonl:"), text.count > 6 { self = .jsonLines(path: String(text.dropFirst(6))); return }
        if text.hasPrefix("sqlite:"), text.count > 7 { self = .sqlite(path: String(text.dropFirst(7))); return }
        throw SinkError("'\(text)' is not a log destination: use jsonl:PATH, sqlite:PATH, stdout or none")
    }

    public var description: String {
        switch self {
        case .jsonLines(let path): "jsonl:\(path)"
        case .standardOutput: "stdout"
        case .sqlite(let path): "sqlite:\(path)"
        case .none: "none"
        }
    }
}
