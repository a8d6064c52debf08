// `kgb ui`: the web page for watching agents, served over a log store by a process of its own (never inside the
// gateway's loop): a laptop points it at its JSONL or SQLite file, a fleet at its shared PostgreSQL database.
import ExchangeLog
import Glibc
import LogBrowser
import UV

struct UICommand {
    static var commandLine: CommandLineSpec<UICommand> {
        CommandLineSpec(
            name: "kgb ui",
            abstract: "Serve a web page over the exchange log: exchanges (live), sessions, conversations, cost, latency.",
            discussion: """
                Reads a sqlite: file, a postgres:// database, or a jsonl: file (loaded into memory: for small files). \
                Listens on 127.0.0.1:8090 unless told otherwise; any other address needs --ui-token, because records \
                hold prompts and answers. Stops on Ctrl-C.
                """,
            flags: [
                .option("log", "spec", "The log store: sqlite:PATH, postgres://... or jsonl:PATH (default: KGB_LOG, else jsonl:./kgb-logs/exchanges.jsonl).", \.log),
                .option("listen", "host:port", "Address to serve the page on.", \.listen),
                .option("ui-token", "file", "A file holding the token a browser must present (needed to listen beyond loopback).", \.tokenFile),
            ])
    }

    static func main(_ arguments: [String]) -> Never {
        commandLine.main(arguments, defaults: UICommand()) { try $0.run() }
    }

    var log: String?
    var listen = "127.0.0.1:8090"
    var tokenFile: String?

    func run() throws {
        guard let address = SocketAddress(listen: listen) else {
            throw UsageError("--listen: \(listen) is not HOST:PORT")
        }
        let host = Self.host(of: listen)
        let token = try tokenFile.map(Self.readToken)
        if token == nil && !Self.isLoopback(host) {
            throw UsageError("--listen \(listen) is not a loopback address: records hold prompts and answers, so serving them there needs --ui-token FILE")
        }
        let (spec, name) = try storeSpec(log)
        let store: SharedStore
        do { store = try SharedStore(spec) } catch { throw UsageError("--log: \(error)") }

        let loop = EventLoop()
        let server: BrowserServer
        do {
            server = try BrowserServer(loop: loop, address: address, store: store, token: token,
                                       allowedHosts: ["127.0.0.1", "localhost", "[::1]", host.lowercased()])
        } catch {
            throw UsageError("--listen \(listen): \(error)")
        }
        var watchers: [SignalWatcher] = []
        for signalNumber in [SIGINT, SIGTERM] {
            watchers.append(SignalWatcher(loop: loop, signal: signalNumber) {
                server.close()
                for watcher in watchers { watcher.close() }
                loop.stop()
            })
        }
        let shown = server.boundAddress.map { "\($0)" } ?? listen
        Self.say("kgb ui: serving \(name) on http://\(shown)/\(token == nil ? "" : "?token=... (the token in \(tokenFile!))")")
        loop.run()
    }

    /// 127.0.0.1:8090 → 127.0.0.1; [::1]:8090 → [::1].
    static func host(of listen: String) -> String {
        if listen.hasPrefix("[") { return String(listen.prefix { $0 != "]" }) + "]" }
        return String(listen.prefix { $0 != ":" })
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// The file's first line. It goes into a cookie, so it must be a cookie value: printable, no separators.
    static func readToken(_ path: String) throws -> String {
        guard let file = fopen(path, "r") else {
            throw UsageError("--ui-token: cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        while true {
            let byte = fgetc(file)
            if byte == EOF || byte == 0x0a { break }
            bytes.append(UInt8(truncatingIfNeeded: byte))
        }
        if bytes.last == 0x0d { bytes.removeLast() }
        let allowed = bytes.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: ",")
            && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        guard bytes.count >= 16, allowed else {
            throw UsageError("--ui-token: the first line of \(path) must be a token of at least 16 printable characters, without spaces, quotes, commas or semicolons (openssl rand -hex 32 makes one)")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func say(_ line: String) {
        var text = line + "\n"
        _ = text.withUTF8 { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
