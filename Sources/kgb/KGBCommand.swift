// The kgb command line: flags (and their KGB_* variables) → a validated GatewayConfig.
import ArgumentParser
import ExchangeLog
import Gateway
import UV

struct KGBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kgb",
        abstract: "A streaming gateway for LLM APIs: forwards each request upstream and streams the answer back as it arrives.",
        discussion: """
        Every flag can also be set through the environment as KGB_<FLAG>, e.g. KGB_LISTEN=0.0.0.0:8080 or
        KGB_UPSTREAM_TIMEOUT=120; a flag on the command line wins. Durations are in seconds (fractions allowed).
        Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when the gateway cannot start (port in use),
        2 for a bad flag or value.
        """)

    @Option(help: ArgumentHelp("Address to listen on, HOST:PORT ([::1]:PORT for IPv6).", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    @Option(help: ArgumentHelp("Upstream origin, http://HOST[:PORT][/BASE-PATH]. Required.", valueName: "url"))
    var upstream: String?

    @Option(help: ArgumentHelp("Seconds to wait for the upstream's response head (then 504), and the longest silence allowed between reads of a response body.", valueName: "seconds"))
    var upstreamTimeout: Double = 600

    @Option(help: ArgumentHelp("Seconds to wait for a TCP connection to the upstream (then 504).", valueName: "seconds"))
    var connectTimeout: Double = 10

    @Option(help: ArgumentHelp("Seconds a client has to send a complete request head (then 408 and close).", valueName: "seconds"))
    var headerTimeout: Double = 30

    @Option(help: ArgumentHelp("Seconds an idle keep-alive client connection is kept open.", valueName: "seconds"))
    var idleTimeout: Double = 75

    @Option(help: ArgumentHelp("Seconds in-flight exchanges get to finish after SIGTERM/SIGINT.", valueName: "seconds"))
    var drainTimeout: Double = 30

    @Option(help: ArgumentHelp("Largest request head accepted, in bytes (larger: 431).", valueName: "bytes"))
    var maxHeaderBytes: Int = 64 * 1024

    @Option(help: ArgumentHelp("Idle upstream keep-alive connections kept open.", valueName: "count"))
    var poolMaxIdle: Int = 256

    @Option(help: ArgumentHelp("Seconds an idle upstream connection is kept before the gateway closes it.", valueName: "seconds"))
    var poolIdleTimeout: Double = 30

    @Option(help: ArgumentHelp("Where exchange records go; repeatable: jsonl:PATH, sqlite:PATH, stdout, none. Default: jsonl:./kgb-logs/exchanges.jsonl.", valueName: "spec"))
    var log: [String] = []

    @Option(help: ArgumentHelp("Bytes of the lock-free log ring between the event loop and the logger thread (a power of two).", valueName: "bytes"))
    var logRingBytes: Int = 64 << 20

    @Option(help: ArgumentHelp("When the log ring is full: pause (stop reading that upstream until the logger catches up; nothing lost) or drop (keep streaming, mark the record truncated).", valueName: "policy"))
    var logOverflow: String = "pause"

    @Option(help: ArgumentHelp("Largest body kept per request or response in a record; longer ones are cut and marked truncated.", valueName: "bytes"))
    var logBodyMax: Int = 16 << 20

    static let flagNames = ["listen", "upstream", "upstream-timeout", "connect-timeout", "header-timeout",
                            "idle-timeout", "drain-timeout", "max-header-bytes", "pool-max-idle", "pool-idle-timeout",
                            "log", "log-ring-bytes", "log-overflow", "log-body-max"]

    struct LogSettings {
        var specs: [LogSpec]
        var ringBytes: Int
        var overflow: LogOverflowPolicy
        var bodyMax: Int
    }

    func logSettings() throws -> LogSettings {
        var specs: [LogSpec] = []
        for text in log {
            do { specs.append(try LogSpec(parsing: text)) } catch { throw ValidationError("--log: \(error)") }
        }
        if specs.isEmpty { specs = [LogSpec.defaultSpec] }
        if specs.contains(.none) && specs.count > 1 { throw ValidationError("--log none cannot be combined with other destinations") }
        guard logRingBytes >= 1 << 16, logRingBytes <= 1 << 32, logRingBytes & (logRingBytes - 1) == 0 else {
            throw ValidationError("--log-ring-bytes must be a power of two between 65536 and 4294967296 (got \(logRingBytes))")
        }
        guard let overflow = LogOverflowPolicy(rawValue: logOverflow) else {
            throw ValidationError("--log-overflow must be pause or drop (got '\(logOverflow)')")
        }
        guard logBodyMax >= 0 else { throw ValidationError("--log-body-max must not be negative") }
        return LogSettings(specs: specs, ringBytes: logRingBytes, overflow: overflow, bodyMax: logBodyMax)
    }

    func gatewayConfig() throws -> GatewayConfig {
        guard let upstreamText = upstream else {
            throw ValidationError("--upstream is required (or KGB_UPSTREAM), e.g. --upstream http://127.0.0.1:9000")
        }
        let upstreamURL: UpstreamURL
        do { upstreamURL = try UpstreamURL(upstreamText) } catch {
            throw ValidationError("--upstream: \(error)")
        }
        if upstreamURL.scheme == .https {
            throw ValidationError("--upstream: \(upstreamText) is https, and this build of kgb does not speak TLS to upstreams yet; use an http:// upstream")
        }
        var config = GatewayConfig(listen: try Self.listenAddress(listen), upstream: upstreamURL)
        config.upstreamTimeout = try Self.milliseconds(upstreamTimeout, flag: "--upstream-timeout")
        config.connectTimeout = try Self.milliseconds(connectTimeout, flag: "--connect-timeout")
        config.headerTimeout = try Self.milliseconds(headerTimeout, flag: "--header-timeout")
        config.idleTimeout = try Self.milliseconds(idleTimeout, flag: "--idle-timeout")
        config.drainTimeout = try Self.milliseconds(drainTimeout, flag: "--drain-timeout")
        config.poolIdleTimeout = try Self.milliseconds(poolIdleTimeout, flag: "--pool-idle-timeout")
        guard (1024...(16 << 20)).contains(maxHeaderBytes) else {
            throw ValidationError("--max-header-bytes must be between 1024 and 16777216 (got \(maxHeaderBytes))")
        }
        config.maxHeadBytes = maxHeaderBytes
        guard poolMaxIdle >= 0 else { throw ValidationError("--pool-max-idle must not be negative") }
        config.poolMaxIdle = poolMaxIdle
        return config
    }

    static func milliseconds(_ seconds: Double, flag: String) throws -> UInt64 {
        guard seconds.isFinite, seconds > 0, seconds <= 86_400 else {
            throw ValidationError("\(flag) must be a number of seconds above 0 and at most 86400 (got \(seconds))")
        }
        return UInt64((seconds * 1000).rounded(.up))
    }

    static func listenAddress(_ text: String) throws -> SocketAddress {
        guard let address = SocketAddress(listen: text) else {
            throw ValidationError("--listen must be HOST:PORT with a numeric address, e.g. 127.0.0.1:8080 or [::1]:8080 (got '\(text)')")
        }
        return address
    }
}
