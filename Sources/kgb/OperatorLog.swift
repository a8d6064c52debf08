// Operational messages (start-up, routes, sink errors, drain progress) on stderr through swift-log: plain
// lines for people, or one JSON object per line for container log collectors (--message-format json).
import Foundation
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
            var object: [String: String] = ["time": Self.timestamp(), "level": level.rawValue, "message": message.description]
            for (key, value) in fields { object[key] = "\(value)" }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            out = String(decoding: data, as: UTF8.self)
        }
        // One write per line, so lines from several threads never interleave.
        FileHandle.standardError.write(Data((out + "\n").utf8))
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}

enum OperatorLog {
    static func bootstrap(format: OperatorLogHandler.Format, level: Logger.Level) {
        LoggingSystem.bootstrap { _ in OperatorLogHandler(format: format, logLevel: level) }
    }
}
