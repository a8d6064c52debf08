// Operational messages (start-up, routes, sink errors, drain progress) on stderr through swift-log: plain
// lines for people, or one JSON object per line for container log collectors (--message-format json).
import ExchangeLog
import Glibc
import Logging

struct OperatorLogHandler: LogHandler {
    enum Format: String, CaseIterable { case text, json }

    let format: Format
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let level = event.level
        let message = event.message
        let fields = metadata.merging(event.metadata ?? [:]) { $1 }
        var out: String
        switch format {
        case .text:
            out = "kgb: " + (level >= .warning ? "\(level.rawValue.uppercased()): " : "") + message.description
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) { out += " \(key)=\(value)" }
        case .json:
            var object: [String: JSONTree] = ["time": .string(Self.timestamp()), "level": .string(level.rawValue),
                                               "message": .string(message.description)]
            for (key, value) in fields { object[key] = .string("\(value)") }
            out = JSONTree.object(object).text
        }
        // One write per line, so lines from several threads never interleave.
        StandardStream.error(out + "\n")
    }

    /// RFC 3339 in UTC with milliseconds: `2026-11-30T16:05:01.123Z`.
    static func timestamp() -> String {
        let now = SystemClock.wallMillis()
        var seconds = time_t(now / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func padded(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(parts.tm_year + 1900, 4))-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2))T"
            + "\(padded(parts.tm_hour, 2)):\(padded(parts.tm_min, 2)):\(padded(parts.tm_sec, 2)).\(padded(Int32(now % 1000), 3))Z"
    }
}

enum OperatorLog {
    static func bootstrap(format: OperatorLogHandler.Format, level: Logger.Level) {
        LoggingSystem.bootstrap { _ in OperatorLogHandler(format: format, logLevel: level) }
    }
}
