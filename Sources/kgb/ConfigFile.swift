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
import ExchangeLog
import TOML

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
        guard let bytes = FileSystem.read(path) else {
            throw Failure(description: "--config: cannot read \(path)")
        }
        let table: TOMLTable
        do { table = try TOMLTable(parsing: String(decoding: bytes, as: UTF8.self)) } catch {
            throw Failure(description: "\(path) line \(error.line): \(error.message)")
        }
        // In file order: the first mistake reported is the first one in the file.
        for key in table.keys {
            try read(key, table[key]!, line: table.line(of: key))
        }
    }

    private mutating func read(_ key: String, _ value: TOMLValue, line: Int) throws(Failure) {
        let origin = describe(key, line: line)
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
            try readHeaders(value, prefix: "", origin: origin)
        case "route":
            guard let routes = value.array else { throw Failure(description: "\(origin): must be [[route]] tables") }
            // Several tables with one prefix: one route whose upstreams are tried in order (failover), each with
            // its own headers (`PREFIX#N:` below).
            let prefixes = routes.map { $0.table?["prefix"]?.string }
            for (index, item) in routes.enumerated() {
                guard let route = item.table else { throw Failure(description: "\(describe("route", line: line)): must be a table") }
                let prefix = prefixes[index]
                let same = prefixes.filter { $0 == prefix }.count
                let position = prefixes[...index].filter { $0 == prefix }.count
                try readRoute(route, position: same > 1 ? position : nil)
            }
        default:
            throw Failure(description: "\(origin): unknown key (known: \((Self.numberKeys.union(Self.stringKeys).union(Self.switchKeys).union(["log", "session-header", "log-header", "headers", "route"])).sorted().joined(separator: ", ")))")
        }
    }

    private mutating func readRoute(_ route: TOMLTable, position: Int?) throws(Failure) {
        for key in route.keys where !Self.routeKeys.contains(key) {
            throw Failure(description: "\(describe("route.\(key)", line: route.line(of: key))): unknown key (known: prefix, upstream, headers)")
        }
        guard let prefix = route["prefix"]?.string else {
            throw Failure(description: "\(describe("route.prefix", line: route.line)): every [[route]] needs a prefix string")
        }
        guard let upstream = route["upstream"]?.string else {
            throw Failure(description: "\(describe("route.upstream", line: route.line)): every [[route]] needs an upstream string")
        }
        add("route", "\(prefix)=\(upstream)", describe("route.upstream", line: route.line(of: "upstream")))
        if let headers = route["headers"] {
            try readHeaders(headers, prefix: prefix + (position.map { "#\($0)" } ?? ""),
                            origin: describe("route.headers", line: route.line(of: "headers")))
        }
    }

    private mutating func readHeaders(_ value: TOMLValue, prefix: String, origin: String) throws(Failure) {
        guard let headers = value.table else { throw Failure(description: "\(origin): must be a table of NAME = VALUE") }
        for name in headers.keys {
            guard let text = headers[name]!.string else { throw Failure(description: "\(origin): the value of \(name) must be a string") }
            add("route-header", "\(prefix):\(name)=\(text)", describe("headers.\(name)", line: headers.line(of: name)))
        }
    }

    private mutating func add(_ flag: String, _ value: String, _ origin: String) {
        arguments.append(Argument(flag: flag, value: value, origin: origin))
    }

    private func describe(_ key: String, line: Int) -> String {
        line > 0 ? "\(path) line \(line), key \(key)" : "\(path), key \(key)"
    }
}
