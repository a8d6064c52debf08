// kgb's entry point: `kgb tail` / `kgb show` / `kgb ui` read the exchange log; otherwise parse the settings (flags,
// KGB_* variables, --config), start N workers (each an event loop with its own listener, ring and logger
// thread; worker 0 on this thread), serve the admin endpoint, drain on SIGTERM/SIGINT and exit 0.
import ExchangeLog
import Gateway
import Glibc
import Logging
import UV

func fail(_ message: String, code: Int32) -> Never {
    StandardStream.error("kgb: \(message)\n")
    exit(code)
}

let commandLine = Array(CommandLine.arguments.dropFirst())
switch commandLine.first {
case "tail": TailCommand.main(Array(commandLine.dropFirst()))
case "show": ShowCommand.main(Array(commandLine.dropFirst()))
case "ui": UICommand.main(Array(commandLine.dropFirst()))
default: break
}

let environment = ProcessEnvironment.variables
let sources: ArgumentSources
do {
    sources = try ArgumentSources(commandLine: commandLine, environment: environment)
} catch {
    fail(error.description, code: 2)
}
let config: GatewayConfig
let logSettings: KGBCommand.LogSettings
let operatorSettings: KGBCommand.OperatorSettings
let insecure: Bool
do {
    let command = try KGBCommand.parse(sources.arguments)
    if command.version {
        print("kgb \(KGBVersion.current)")
        exit(0)
    }
    config = try command.gatewayConfig(environment: environment)
    logSettings = try command.logSettings()
    operatorSettings = try command.operatorSettings()
    insecure = command.upstreamInsecure
} catch is HelpRequested {
    print(KGBCommand.commandLine.help(defaults: KGBCommand()), terminator: "")
    exit(0)
} catch {
    // Any parse or validation error exits 2 (the usual usage-error code).
    fail(sources.locate("Error: \(error)\n\(KGBCommand.commandLine.usageHint)"), code: 2)
}

OperatorLog.bootstrap(format: operatorSettings.format, level: operatorSettings.level)
let log = Logger(label: "kgb")

// A write to a connection the peer closed must be an error code, not a process-killing signal.
signal(SIGPIPE, SIG_IGN)

// The log: sinks opened before serving, so a bad path fails at start-up rather than silently later. With
// several workers every logger writes to the same sinks, a batch of whole lines at a time.
var sinks: [LogSink] = []
for spec in logSettings.specs {
    do {
        switch spec {
        case .jsonLines(let path): sinks.append(try JSONLinesSink(path: path))
        case .standardOutput: sinks.append(StandardOutputSink())
        case .sqlite(let path): sinks.append(try SQLiteSink(path: path))
        case .postgres, .collector, .otlp, .none: break  // remote: through the spool, below
        }
    } catch {
        fail("--log \(spec): \(error)", code: 2)
    }
}
// Remote destinations: the loggers write to the spool like to any sink; delivery threads take it from there.
let delivery: RemoteDelivery? = logSettings.remote.map { remote in
    do {
        return try RemoteDelivery(specs: logSettings.specs, settings: remote) { message in
            Logger(label: "kgb").warning("\(message)")
        }
    } catch {
        fail("--log: \(error)", code: 2)
    }
}
if let delivery { sinks.append(delivery.spool) }
if config.agents?.needsUsage == true && sinks.isEmpty {
    fail("--agents: tokens_per_minute and usd_per_day count the usage the exchange log reads; they need a --log other than none", code: 2)
}
let workerCount = operatorSettings.workers
if workerCount > 1 { sinks = sinks.map { SharedSink($0, users: workerCount) } }
let redactionKey: [UInt8] = {
    if let key = environment["KGB_REDACTION_KEY"], !key.isEmpty { return Array(key.utf8) }
    return (0..<32).map { _ in UInt8.random(in: 0...255) }
}()

let workers = (0..<workerCount).map { index in
    var options = LoggerOptions(redactionKey: redactionKey, instance: UInt16.random(in: 0...UInt16.max))
    options.bodyMax = logSettings.bodyMax
    options.bodyDirectory = logSettings.bodyDirectory
    options.sessionHeaders = logSettings.sessionHeaders
    options.agentNames = config.agents?.names ?? []
    options.agentUsage = config.agents?.usage
    options.prices = logSettings.prices
    options.warn = { message in Logger(label: "kgb").warning("\(message)") }
    return Worker(index: index, config: config, sinks: sinks, logSettings: logSettings, loggerOptions: options)
}
let main = workers[0]
let loop = main.loop

func finishLogging() {
    for worker in workers { worker.finishLogging() }
    // Every record is in the spool now; the remote sinks get a moment to take it, the rest waits for the next start.
    delivery?.stop(within: min(5, Double(config.drainTimeout) / 1000))
}

var signalWatchers: [SignalWatcher] = []
main.onStopped = {
    // Worker 0 has drained: stop the admin endpoint and signal handling so its loop can end; a fallback timer
    // (not keeping the loop alive itself) bounds the wait for the last responses' bytes.
    admin?.close()
    for watcher in signalWatchers { watcher.close() }
    let fallback = Timer(loop: loop) {
        log.info("stopped (fallback timer)")
        finishLogging()
        exit(0)
    }
    fallback.unref()
    fallback.start(milliseconds: 2_000)
}
for signalNumber in [SIGTERM, SIGINT] {
    signalWatchers.append(SignalWatcher(loop: loop, signal: signalNumber) {
        if main.gateway.isDraining {
            log.notice("second signal: exiting now")
            finishLogging()
            exit(0)
        }
        let scope = workers.count == 1 ? "" : " on worker 0 of \(workers.count)"
        log.notice("draining: \(main.gateway.activeExchanges) exchange(s) in flight\(scope), up to \(config.drainTimeout) ms")
        for worker in workers.dropFirst() { worker.requestDrain() }
        main.drain()
        // Progress once a second while connections finish (the gauges are readable from any worker's loop).
        let progress = Timer(loop: loop) {
            let open = workers.reduce(UInt64(0)) { $0 &+ $1.gateway.metrics.gauges.load(GatewayMetrics.Gauge.clientConnections.rawValue) }
            log.notice("draining: \(open) client connection(s) still open")
        }
        progress.unref()
        progress.start(repeatingEvery: 1_000)
    })
}
// logrotate: SIGHUP reopens the log files.
signalWatchers.append(SignalWatcher(loop: loop, signal: SIGHUP) {
    for worker in workers { worker.logger?.requestReopen() }
})

// The admin port is bound first, so whoever sees the proxy port open (a test, a load balancer) finds the health
// endpoints there too; neither answers before the loop runs, below.
var admin: AdminServer?
if let address = operatorSettings.admin {
    do {
        admin = try AdminServer(loop: loop, address: address) { path in
            AdminAnswers.answer(path: path, workers: workers, draining: main.gateway.isDraining, delivery: delivery)
        }
    } catch {
        fail("cannot listen on --admin \(address): \(error.message)", code: 1)
    }
}

// Signal handling is in place before the port opens: a SIGTERM right after start-up still drains.
for worker in workers {
    do { try worker.start() } catch { fail("cannot listen on \(config.listen): \(error.message)", code: 1) }
}

log.info("kgb \(KGBVersion.current) listening on \(main.gateway.boundAddress?.description ?? "\(config.listen)")", metadata: [
    "workers": "\(workerCount)",
    "admin": "\(admin?.boundAddress?.description ?? "off")",
    "log": "\(logSettings.specs.map(\.description).joined(separator: ","))",
    "log_overflow": "\(logSettings.overflow.rawValue)",
    "prices": "\(logSettings.pricesSource) (\(logSettings.prices.models.count) models)",
    "max_connections": "\(config.maxConnections == Int.max ? "unlimited" : String(config.maxConnections * workerCount))",
    "upstream_timeout_ms": "\(config.upstreamTimeout)",
])
for route in config.routes.sorted(by: { $0.prefix < $1.prefix }) {
    var metadata: Logger.Metadata = [:]
    if let proxy = route.proxy { metadata["proxy"] = "\(proxy)" }
    if !route.headers.isEmpty { metadata["sets_headers"] = "\(route.headers.map(\.name).joined(separator: ","))" }
    log.info("route \(route.prefix.isEmpty ? "(default)" : route.prefix) → \(route.upstream)", metadata: metadata)
}
if let agents = config.agents {
    log.info("agents: \(agents.agents.count), every request needs an agent key", metadata: ["agents": "\(agents.names.joined(separator: ","))"])
} else if !config.listen.isLoopback && config.routes.contains(where: { !$0.headers.isEmpty }) {
    log.warning("listening on \(config.listen) beyond loopback with route credentials (--route-header) and no --agents: anyone who can reach this port spends those keys")
}
if insecure {
    log.warning("--upstream-insecure: https upstreams' certificates are NOT verified; for tests only")
}

delivery?.start()
for worker in workers.dropFirst() { worker.runOnThread() }

loop.run()
let deadline = Double(config.drainTimeout) / 1000 + 3
for worker in workers.dropFirst() where !worker.join(timeoutSeconds: deadline) {
    log.warning("worker \(worker.index) did not stop in time")
}
log.info("stopped")
finishLogging()
exit(0)
