// --config FILE: a TOML file whose keys are the flag names. It is read into command-line arguments placed
// behind the real ones (so flags and KGB_* variables win), each remembering the key and line it came from.
//
//     listen = "0.0.0.0:8080"
//     upstream = "https://api.anthropic.com"
//     upstream-timeout = 300
//     log = ["jsonl:/var/log/kgb/exchanges.jsonl"]
//     headers = { x-api-key = "env:ANTHROPIC_API_KEY" }    # the --upstream route's headers
//
//     [[route]]
//     prefix = "/openai/"
//     upstream = "https://api.openai.com/"
//     headers = { Authorization = "Bearer ${OPENAI_API_KEY}" }
import Foundation
import TOMLKit

struct ConfigFile {
    struct Argument {
        let flag: String
        /// nil for a switch (`upstream-insecure = true`).
        let value: String?
        /// Where it came from, for error messages: "kgb.toml line 3, key upstream".
        let origin: String
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let path: String
    private(set) var arguments: [Argument] = []
    private let lines: [Substring]

    static let numberKeys: Set = ["upstream-timeout", "connect-timeout", "header-timeout", "idle-timeout", "drain-timeout",
                                  "max-header-bytes", "pool-max-idle", "pool-idle-timeout", "log-ring-bytes", "log-body-max",
                                  "workers", "max-connections", "retry-body-max", "spool-max-bytes", "log-batch-ms",
                                  "log-batch-bytes"]
    static let stringKeys: Set = ["listen", "upstream", "agents", "log-overflow", "upstream-proxy", "upstream-ca", "admin",
                                  "message-level", "message-format", "prices", "spool", "spool-fsync", "log-body-dir"]
    static let switchKeys: Set = ["upstream-insecure", "otlp-content"]
    static let routeKeys: Set = ["prefix", "upstream", "headers"]

    init(path: String) throws(Failure) {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "--config: cannot read \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw Failure(description: "\(path) line \(error.source.begin.line): \(error.description)")
        } catch {
            throw Failure(description: "\(path): \(error)")
        }
        for key in table.keys.sorted(by: { line(of: $0) < line(of: $1) }) {
            try read(key, table[key]!)
        }
    }

    private mutating func read(_ key: String, _ value: TOMLValueConvertible) throws(Failure) {
        let origin = describe(key, line: line(of: key))
        switch key {
        case _ where Self.numberKeys.contains(key):
            if let number = value.int { add(key, String(number), origin) } else if let number = value.double {
                add(key, String(number), origin)
            } else { throw Failure(description: "\(origin): must be a number") }
        case _ where Self.stringKeys.contains(key):
            guard let text = value.string else { throw Failure(description: "\(origin): must be a string") }
            add(key, text, origin)
        case _ where Self.switchKeys.contains(key):
            guard let on = value.bool else { throw Failure(description: "\(origin): must be true or false") }
            if on { arguments.append(Argument(flag: key, value: nil, origin: origin)) }
        case "log", "session-header", "log-header":
            if let text = value.string {
                add(key, text, origin)
            } else if let array = value.array {
                for item in array {
                    guard let text = item.string else { throw Failure(description: "\(origin): must be a list of strings") }
                    add(key, text, origin)
                }
            } else { throw Failure(description: "\(origin): must be a string or a list of strings") }
        case "headers":
            try readHeaders(value, prefix: "", origin: origin, after: 0)
        case "route":
            guard let routes = value.array else { throw Failure(description: "\(origin): must be [[route]] tables") }
            // Several tables with one prefix: one route whose upstreams are tried in order (failover), each with
            // its own headers (`PREFIX#N:` below).
            let prefixes = routes.map { $0.table?["prefix"]?.string }
            for (index, item) in routes.enumerated() {
                let start = routeHeaderLine(index) ?? line(of: key)
                guard let route = item.table else { throw Failure(description: "\(describe("route", line: start)): must be a table") }
                let prefix = prefixes[index]
                let same = prefixes.filter { $0 == prefix }.count
                let position = prefixes[...index].filter { $0 == prefix }.count
                try readRoute(route, start: start, position: same > 1 ? position : nil)
            }
        default:
            throw Failure(description: "\(origin): unknown key (known: \((Self.numberKeys.union(Self.stringKeys).union(Self.switchKeys).union(["log", "session-header", "log-header", "headers", "route"])).sorted().joined(separator: ", ")))")
        }
    }

    private mutating func readRoute(_ route: TOMLTable, start: Int, position: Int?) throws(Failure) {
        for key in route.keys where !Self.routeKeys.contains(key) {
            throw Failure(description: "\(describe("route.\(key)", line: line(of: key, after: start))): unknown key (known: prefix, upstream, headers)")
        }
        guard let prefix = route["prefix"]?.string else {
            throw Failure(description: "\(describe("route.prefix", line: start)): every [[route]] needs a prefix string")
        }
        guard let upstream = route["upstream"]?.string else {
            throw Failure(description: "\(describe("route.upstream", line: start)): every [[route]] needs an upstream string")
        }
        add("route", "\(prefix)=\(upstream)", describe("route.upstream", line: line(of: "upstream", after: start)))
        if let headers = route["headers"] {
            try readHeaders(headers, prefix: prefix + (position.map { "#\($0)" } ?? ""),
                            origin: describe("route.headers", line: line(of: "headers", after: start)), after: start)
        }
    }

    private mutating func readHeaders(_ value: TOMLValueConvertible, prefix: String, origin: String, after start: Int) throws(Failure) {
        guard let headers = value.table else { throw Failure(description: "\(origin): must be a table of NAME = VALUE") }
        for name in headers.keys {
            guard let text = headers[name]!.string else { throw Failure(description: "\(origin): the value of \(name) must be a string") }
            let at = line(of: name, after: start)
            add("route-header", "\(prefix):\(name)=\(text)", at > 0 ? describe("headers.\(name)", line: at) : origin)
        }
    }

    private mutating func add(_ flag: String, _ value: String, _ origin: String) {
        arguments.append(Argument(flag: flag, value: value, origin: origin))
    }

    // MARK: Lines (TOMLKit reports positions for syntax errors only, so keys are found in the text)

    private func describe(_ key: String, line: Int) -> String {
        line > 0 ? "\(path) line \(line), key \(key)" : "\(path), key \(key)"
    }

    /// The first line at or after `start` (1-based) that assigns `key`, or 0.
    private func line(of key: String, after start: Int = 0) -> Int {
        for index in max(0, start - 1)..<lines.count {
            let text = lines[index].drop { $0 == " " || $0 == "\t" }
            for spelling in ["\"\(key)\"", "'\(key)'", key] where text.hasPrefix(spelling) {
                if text.dropFirst(spelling.count).drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("=") { return index + 1 }
            }
            // An inline table: `headers = { x-api-key = "…" }`.
            if let brace = lines[index].firstIndex(of: "{") {
                let inline = lines[index][brace...]
                if inline.contains("\(key) =") || inline.contains("\(key)=") || inline.contains("\"\(key)\"") { return index + 1 }
            }
        }
        return 0
    }

    /// The line of the index-th `[[route]]` header.
    private func routeHeaderLine(_ index: Int) -> Int? {
        var seen = -1
        for (number, text) in lines.enumerated() where text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " ", with: "") == "[[route]]" {
            seen += 1
            if seen == index { return number + 1 }
        }
        return nil
    }
}
