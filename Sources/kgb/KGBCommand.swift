// The kgb command line: flags (and their KGB_* variables) → a validated GatewayConfig.
import Logging
import ExchangeLog
import Gateway
import HTTP1
import TLS
import UV

struct KGBCommand {
    static var commandLine: CommandLineSpec<KGBCommand> {
        CommandLineSpec(
        name: "kgb",
        abstract: "A streaming gateway for LLM APIs: forwards each request upstream and streams the answer back as it arrives.",
        discussion: """
        Every flag can also be set through the environment as KGB_<FLAG>, e.g. KGB_LISTEN=0.0.0.0:8080 or
        KGB_UPSTREAM_TIMEOUT=120; a flag on the command line wins. Durations are in seconds (fractions allowed).
        Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when the gateway cannot start (port in use),
        2 for a bad flag or value.

        Other commands: `kgb tail [--log SPEC] [--json]` follows the exchange log, one line per exchange;
        `kgb show ID [--log SPEC]` prints one exchange readably; `kgb ui [--log SPEC] [--listen HOST:PORT]` serves a
        web page over the log. `kgb tail --help` for more.
        """,
        flags: flags)
    }

    /// Every flag, in the order the help lists them; the settings are the properties below, defaults included.
    static var flags: [CommandFlag<KGBCommand>] { [
        .option("listen", "host:port", "Address to listen on, HOST:PORT ([::1]:PORT for IPv6).", \.listen),
        .option("upstream", "url", "The default upstream, http[s]://HOST[:PORT][/PATH]: where requests no --route matches go. Required unless --route is given (then unmatched paths get 404).", \.upstream),
        .option("route", "prefix=url", "A route, PREFIX=URL (repeatable): requests whose path starts with PREFIX go to URL; the longest prefix wins. A URL with a path replaces the prefix with it (/openai/=https://api.openai.com/ sends /openai/v1/x as /v1/x); a URL without one forwards the path as it is. The same PREFIX again adds a failover upstream, tried in order when one cannot be reached or answers 429, 500, 502, 503 or 529.", \.route),
        .option("route-header", "[prefix:]name=value", "A header set on a route's requests, [PREFIX[#N]:]NAME=VALUE (repeatable; no PREFIX: the --upstream route; #N: only the N-th upstream of a failover route). It replaces the client's. VALUE may be env:VAR, file:PATH, or text with ${VAR} in it, so agents need not hold the real key. Never logged.", \.routeHeader),
        .option("retry-body-max", "bytes", "Largest request body kept so that a failover route can send the request again to its next upstream; a larger request is not retried.", \.retryBodyMax),
        .option("agents", "file", "A TOML file of agents ([[agent]] tables: name, key or key_sha256, optional limits and routes). With it, every request must carry one agent's key (x-api-key or Authorization: Bearer), which is checked and never sent upstream.", \.agents),
        .option("upstream-proxy", "url", "HTTP forward proxy towards the upstreams, http://[USER:PASS@]HOST:PORT: HTTPS goes through a CONNECT tunnel. Default: https_proxy/HTTPS_PROXY and http_proxy/HTTP_PROXY, with no_proxy/NO_PROXY honoured; 'none' ignores them.", \.upstreamProxy),
        .option("upstream-ca", "file", "A PEM file of CA certificates trusted for https upstreams, in addition to the system store.", \.upstreamCA),
        .flag("upstream-insecure", "Do not verify https upstreams' certificates. For tests only: anyone on the path can read and change the traffic.", \.upstreamInsecure),
        .option("config", "file", "A TOML file with any of these settings (keys are the flag names; routes as [[route]] tables). Flags and KGB_* variables override it.", \.config),
        .option("upstream-timeout", "seconds", "Seconds to wait for the upstream's response head (then 504), and the longest silence allowed between reads of a response body.", \.upstreamTimeout),
        .option("connect-timeout", "seconds", "Seconds to connect to the upstream: TCP (then 504), and the proxy's CONNECT answer and the TLS handshake (then 502).", \.connectTimeout),
        .option("header-timeout", "seconds", "Seconds a client has to send a complete request head (then 408 and close).", \.headerTimeout),
        .option("idle-timeout", "seconds", "Seconds an idle keep-alive client connection is kept open.", \.idleTimeout),
        .option("drain-timeout", "seconds", "Seconds in-flight exchanges get to finish after SIGTERM/SIGINT.", \.drainTimeout),
        .option("max-header-bytes", "bytes", "Largest request head accepted, in bytes (larger: 431).", \.maxHeaderBytes),
        .option("pool-max-idle", "count", "Idle upstream keep-alive connections kept open.", \.poolMaxIdle),
        .option("pool-idle-timeout", "seconds", "Seconds an idle upstream connection is kept before the gateway closes it.", \.poolIdleTimeout),
        .option("admin", "host:port", "Admin listener for /healthz, /readyz and /metrics (Prometheus), HOST:PORT; off unless given. Never the proxy port.", \.admin),
        .option("workers", "count", "Event loops (threads), each with its own listener on the port (SO_REUSEPORT), log ring and logger.", \.workers),
        .option("max-connections", "count", "Client connections served at once (split evenly among workers); more wait in the listen backlog until one closes.", \.maxConnections),
        .option("message-level", "level", "Least severe operational message written to stderr: trace, debug, info, notice, warning, error, critical.", \.messageLevel),
        .option("message-format", "text|json", "Operational messages on stderr as text lines or JSON objects (for container log collectors).", \.messageFormat),
        .flag("version", "Print the version and exit.", \.version),
        .option("log", "spec", "Where exchange records go; repeatable: jsonl:PATH, sqlite:PATH, stdout, none. Default: jsonl:./kgb-logs/exchanges.jsonl.", \.log),
        .option("log-ring-bytes", "bytes", "Bytes of the lock-free log ring between the event loop and the logger thread (a power of two).", \.logRingBytes),
        .option("log-overflow", "policy", "When the log ring is full: pause (stop reading that upstream until the logger catches up; nothing lost) or drop (keep streaming, mark the record truncated).", \.logOverflow),
        .option("log-body-max", "bytes", "Largest body kept per request or response in a record; longer ones are cut and marked truncated.", \.logBodyMax),
        .option("log-body-dir", "dir", "Where bodies kept past 1 MiB go, one file each, named by the record (which says {\"file\": PATH, \"bytes\": N}); the logger holds at most 256 KiB of any body in memory. Default: bodies/ beside the first jsonl: or sqlite: log, else ./kgb-logs/bodies.", \.logBodyDir),
        .option("spool", "dir", "Where records bound for remote sinks (postgres://, http[s]://, otlp+http://) wait until each has taken them: segment files that survive a crash. Default: ./kgb-spool when a remote sink is configured.", \.spool),
        .option("spool-fsync", "when", "When the spool is fsync'd: interval (at least once a second) or always (every batch the logger writes).", \.spoolFsync),
        .option("spool-max-bytes", "bytes", "Largest spool; past it the oldest records are dropped and counted.", \.spoolMaxBytes),
        .option("log-batch-ms", "ms", "A remote sink's batch leaves when its oldest record has waited this long (milliseconds) ...", \.logBatchMs),
        .option("log-batch-bytes", "bytes", "... or when it holds this many bytes of records.", \.logBatchBytes),
        .option("log-header", "name=value", "A header sent with every batch to an http(s) collector or OTLP endpoint, NAME=VALUE (repeatable; VALUE may be env:VAR, file:PATH or text with ${VAR}, as for --route-header).", \.logHeader),
        .flag("otlp-content", "Put the messages (request and answer text) into OTLP spans (gen_ai.input.messages / gen_ai.output.messages). Off: spans carry no content.", \.otlpContent),
        .option("session-header", "name", "A request header naming the agent's session, recorded as agent.session (repeatable; the first present wins). Default: x-claude-code-session-id, x-session-id.", \.sessionHeader),
        .option("prices", "file", "A TOML price table (USD per million tokens, [models.\"ID\"] with input, output, cache_write, cache_read) for each record's cost_usd, replacing the one kgb ships (prices as of \(DefaultPrices.date)).", \.prices),
    ] }

    var listen = "127.0.0.1:8080"
    var upstream: String?
    var route: [String] = []
    var routeHeader: [String] = []
    var retryBodyMax: Int = 1 << 20
    var agents: String?
    var upstreamProxy: String?
    var upstreamCA: String?
    var upstreamInsecure = false
    var config: String?
    var upstreamTimeout: Double = 600
    var connectTimeout: Double = 10
    var headerTimeout: Double = 30
    var idleTimeout: Double = 75
    var drainTimeout: Double = 30
    var maxHeaderBytes: Int = 64 * 1024
    var poolMaxIdle: Int = 256
    var poolIdleTimeout: Double = 30
    var admin: String?
    var workers: Int = 1
    var maxConnections: Int?
    var messageLevel: String = "info"
    var messageFormat: String = "text"
    var version = false
    var log: [String] = []
    var logRingBytes: Int = 4 << 20
    var logOverflow: String = "pause"
    var logBodyMax: Int = 16 << 20
    var logBodyDir: String?
    var spool: String?
    var spoolFsync: String = "interval"
    var spoolMaxBytes: Int = 1 << 30
    var logBatchMs: Int = 1000
    var logBatchBytes: Int = 1 << 20
    var logHeader: [String] = []
    var otlpContent = false
    var sessionHeader: [String] = []
    var prices: String?

    /// Parses the arguments (flags, KGB_* variables and the config file, merged by ArgumentSources). Throws
    /// HelpRequested for -h/--help, UsageError for anything it cannot take.
    static func parse(_ arguments: [String]) throws -> KGBCommand {
        var command = KGBCommand()
        try commandLine.parse(arguments, into: &command)
        return command
    }

    /// Flags that take a value, readable from KGB_<NAME> and from the config file.
    static let flagNames = ["listen", "upstream", "upstream-timeout", "connect-timeout", "header-timeout",
                            "idle-timeout", "drain-timeout", "max-header-bytes", "pool-max-idle", "pool-idle-timeout",
                            "log", "log-ring-bytes", "log-overflow", "log-body-max", "log-body-dir", "session-header", "prices", "spool", "spool-fsync",
                            "spool-max-bytes", "log-batch-ms", "log-batch-bytes", "log-header",
                            "route", "route-header", "agents", "retry-body-max", "upstream-proxy", "upstream-ca", "config",
                            "admin", "workers", "max-connections", "message-level", "message-format"]
    /// On/off flags: KGB_<NAME>=1 or true.
    static let switchNames = ["upstream-insecure", "otlp-content"]

    struct LogSettings {
        var specs: [LogSpec]
        var ringBytes: Int
        var overflow: LogOverflowPolicy
        var bodyMax: Int
        var bodyDirectory: String
        var sessionHeaders: [String]
        var prices: PriceTable
        /// Where the prices came from, for the start-up message.
        var pricesSource: String
        /// The remote sinks' spool and delivery (nil: every destination is local).
        var remote: RemoteDelivery.Settings?
    }

    func logSettings() throws -> LogSettings {
        var specs: [LogSpec] = []
        for text in log {
            do { specs.append(try LogSpec(parsing: text)) } catch { throw UsageError("--log: \(error)") }
        }
        if specs.isEmpty { specs = [LogSpec.defaultSpec] }
        if specs.contains(.none) && specs.count > 1 { throw UsageError("--log none cannot be combined with other destinations") }
        guard logRingBytes >= 1 << 16, logRingBytes <= 1 << 32, logRingBytes & (logRingBytes - 1) == 0 else {
            throw UsageError("--log-ring-bytes must be a power of two between 65536 and 4294967296 (got \(logRingBytes))")
        }
        guard let overflow = LogOverflowPolicy(rawValue: logOverflow) else {
            throw UsageError("--log-overflow must be pause or drop (got '\(logOverflow)')")
        }
        guard logBodyMax >= 0 else { throw UsageError("--log-body-max must not be negative") }
        let bodyDirectory = logBodyDir ?? Self.defaultBodyDirectory(specs)
        guard !bodyDirectory.isEmpty else { throw UsageError("--log-body-dir must not be empty") }
        for name in sessionHeader where name.isEmpty || !name.utf8.allSatisfy(ASCII.isTokenByte) {
            throw UsageError("--session-header: '\(name)' is not a header name")
        }
        let table: PriceTable
        if let prices {
            do { table = try PriceFile.load(path: prices) } catch { throw UsageError("--prices: \(error)") }
        } else {
            do { table = try PriceFile.shipped() } catch { throw UsageError(error.description) }
        }
        return LogSettings(specs: specs, ringBytes: logRingBytes, overflow: overflow, bodyMax: logBodyMax,
                           bodyDirectory: bodyDirectory.count > 1 && bodyDirectory.hasSuffix("/") ? String(bodyDirectory.dropLast()) : bodyDirectory,
                           sessionHeaders: sessionHeader.isEmpty ? LoggerOptions.defaultSessionHeaders
                                                                 : sessionHeader.map { $0.lowercased() },
                           prices: table, pricesSource: prices ?? "shipped, as of \(DefaultPrices.date)",
                           remote: try remoteSettings(specs))
    }

    /// `bodies` beside the first local log file (the records and the bodies they name stay together), else beside
    /// the default log.
    static func defaultBodyDirectory(_ specs: [LogSpec]) -> String {
        for spec in specs {
            switch spec {
            case .jsonLines(let path), .sqlite(let path):
                let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
                return path.contains("/") ? (directory.isEmpty ? "/bodies" : directory + "/bodies") : "bodies"
            default: continue
            }
        }
        return "./kgb-logs/bodies"
    }

    /// The spool and batch settings, checked, when a destination is remote.
    func remoteSettings(_ specs: [LogSpec]) throws -> RemoteDelivery.Settings? {
        guard specs.contains(where: \.isRemote) else {
            for (flag, given) in [("--spool", spool != nil), ("--log-header", !logHeader.isEmpty), ("--otlp-content", otlpContent)] where given {
                throw UsageError("\(flag) is for remote log sinks (postgres://, http[s]://, otlp+http://), and --log names none")
            }
            return nil
        }
        guard let fsync = SpoolFsync(rawValue: spoolFsync) else {
            throw UsageError("--spool-fsync must be interval or always (got '\(spoolFsync)')")
        }
        guard spoolMaxBytes >= 1 << 20 else { throw UsageError("--spool-max-bytes must be at least 1048576 (got \(spoolMaxBytes))") }
        guard (10...600_000).contains(logBatchMs) else { throw UsageError("--log-batch-ms must be between 10 and 600000 (got \(logBatchMs))") }
        guard (1024...(256 << 20)).contains(logBatchBytes) else {
            throw UsageError("--log-batch-bytes must be between 1024 and 268435456 (got \(logBatchBytes))")
        }
        var headers: [(name: String, value: String)] = []
        for text in logHeader {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex,
                  text[..<equals].utf8.allSatisfy(ASCII.isTokenByte) else {
                throw UsageError("--log-header: '\(RouteOptions.redacted(text))' must be NAME=VALUE")
            }
            let name = String(text[..<equals])
            var value: String
            value = try RouteOptions.resolveValue(String(text[text.index(after: equals)...]), flag: "--log-header", header: name,
                                                  environment: ProcessEnvironment.variables)
            guard !value.contains("\r"), !value.contains("\n"), !value.contains("\0") else {
                throw UsageError("--log-header: the value of \(name) contains a line break or NUL")
            }
            value = value.trimmingSpaces
            headers.append((name, value))
        }
        var tls: TLSContext?
        if specs.contains(where: { if case .collector(let url) = $0 { url.hasPrefix("https://") } else if case .otlp(let url) = $0 { url.hasPrefix("otlp+https://") } else { false } }) {
            do { tls = try TLSContext(clientVerifying: !upstreamInsecure, extraCAFile: upstreamCA) } catch {
                throw UsageError("\(upstreamCA != nil ? "--upstream-ca" : "TLS set-up") for the log sinks: \(error.message)")
            }
        }
        var batch = DeliveryWorker.Settings()
        batch.batchMillis = logBatchMs
        batch.batchBytes = logBatchBytes
        return RemoteDelivery.Settings(spoolDirectory: spool ?? "./kgb-spool", spoolMaxBytes: spoolMaxBytes, fsync: fsync,
                                       batch: batch, headers: headers, otlpContent: otlpContent, tls: tls)
    }

    func gatewayConfig(environment: [String: String]) throws -> GatewayConfig {
        var routes = try RouteOptions.routes(upstream: upstream, routes: route, headers: routeHeader, environment: environment)
        let explicitProxy = upstreamProxy.map { $0 == "none" ? "" : $0 }
        for index in routes.indices {
            do {
                routes[index].proxy = try forwardProxy(for: routes[index].upstream, explicit: explicitProxy, environment: environment)
            } catch {
                throw UsageError("\(explicitProxy == nil ? "the proxy environment variable" : "--upstream-proxy"): \(error)")
            }
        }
        var config = GatewayConfig(listen: try Self.listenAddress(listen), routes: routes)
        if routes.contains(where: { $0.upstream.scheme == .https }) {
            do {
                config.tlsContext = try TLSContext(clientVerifying: !upstreamInsecure, extraCAFile: upstreamCA)
            } catch {
                throw UsageError("\(upstreamCA != nil ? "--upstream-ca" : "TLS set-up"): \(error.message)")
            }
        } else if upstreamCA != nil && !log.contains(where: { $0.hasPrefix("https://") || $0.hasPrefix("otlp+https://") }) {
            throw UsageError("--upstream-ca is set but no upstream or log sink is https")
        }
        if let agents {
            do { config.agents = AgentRegistry(try AgentsFile.load(path: agents, environment: environment)) } catch {
                throw UsageError(error.description)
            }
        }
        config.upstreamTimeout = try Self.milliseconds(upstreamTimeout, flag: "--upstream-timeout")
        config.connectTimeout = try Self.milliseconds(connectTimeout, flag: "--connect-timeout")
        config.headerTimeout = try Self.milliseconds(headerTimeout, flag: "--header-timeout")
        config.idleTimeout = try Self.milliseconds(idleTimeout, flag: "--idle-timeout")
        config.drainTimeout = try Self.milliseconds(drainTimeout, flag: "--drain-timeout")
        config.poolIdleTimeout = try Self.milliseconds(poolIdleTimeout, flag: "--pool-idle-timeout")
        guard (1024...(16 << 20)).contains(maxHeaderBytes) else {
            throw UsageError("--max-header-bytes must be between 1024 and 16777216 (got \(maxHeaderBytes))")
        }
        config.maxHeadBytes = maxHeaderBytes
        guard retryBodyMax >= 0 else { throw UsageError("--retry-body-max must not be negative (got \(retryBodyMax))") }
        config.retryBodyMax = retryBodyMax
        guard poolMaxIdle >= 0 else { throw UsageError("--pool-max-idle must not be negative") }
        config.poolMaxIdle = poolMaxIdle
        guard (1...256).contains(workers) else { throw UsageError("--workers must be between 1 and 256 (got \(workers))") }
        config.reusePort = workers > 1
        if let maxConnections {
            guard maxConnections >= workers else {
                throw UsageError("--max-connections must be at least --workers (\(workers)) (got \(maxConnections))")
            }
            // Each worker's listener takes its share; SO_REUSEPORT spreads connections evenly enough.
            config.maxConnections = (maxConnections + workers - 1) / workers
        }
        return config
    }

    static func milliseconds(_ seconds: Double, flag: String) throws -> UInt64 {
        guard seconds.isFinite, seconds > 0, seconds <= 86_400 else {
            throw UsageError("\(flag) must be a number of seconds above 0 and at most 86400 (got \(seconds))")
        }
        return UInt64((seconds * 1000).rounded(.up))
    }

    struct OperatorSettings {
        var admin: SocketAddress?
        var workers: Int
        var level: Logger.Level
        var format: OperatorLogHandler.Format
    }

    func operatorSettings() throws -> OperatorSettings {
        guard let level = Logger.Level(rawValue: messageLevel.lowercased()) else {
            throw UsageError("--message-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(messageLevel)')")
        }
        guard let format = OperatorLogHandler.Format(rawValue: messageFormat.lowercased()) else {
            throw UsageError("--message-format must be text or json (got '\(messageFormat)')")
        }
        var adminAddress: SocketAddress? = nil
        if let admin {
            guard let address = SocketAddress(listen: admin) else {
                throw UsageError("--admin must be HOST:PORT with a numeric address, e.g. 127.0.0.1:9090 (got '\(admin)')")
            }
            guard admin != listen else { throw UsageError("--admin must not be the proxy's --listen address") }
            adminAddress = address
        }
        return OperatorSettings(admin: adminAddress, workers: workers, level: level, format: format)
    }

    static func listenAddress(_ text: String) throws -> SocketAddress {
        guard let address = SocketAddress(listen: text) else {
            throw UsageError("--listen must be HOST:PORT with a numeric address, e.g. 127.0.0.1:8080 or [::1]:8080 (got '\(text)')")
        }
        return address
    }
}
