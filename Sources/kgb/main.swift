// kgb's entry point: parse the command line, start the logger thread and the gateway on this thread's event
// loop, drain on SIGTERM/SIGINT (every finished exchange's record written) and exit 0.
import ArgumentParser
import ExchangeLog
import Foundation
import Gateway
import LogRing
import UV

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("kgb: \(message)\n".utf8))
    exit(code)
}

func say(_ message: String) {
    FileHandle.standardError.write(Data("kgb: \(message)\n".utf8))
}

let environment = ProcessInfo.processInfo.environment
let sources: ArgumentSources
do {
    sources = try ArgumentSources(commandLine: Array(CommandLine.arguments.dropFirst()), environment: environment)
} catch {
    fail(error.description, code: 2)
}
let config: GatewayConfig
let logSettings: KGBCommand.LogSettings
let insecure: Bool
do {
    let command = try KGBCommand.parse(sources.arguments)
    config = try command.gatewayConfig(environment: environment)
    logSettings = try command.logSettings()
    insecure = command.upstreamInsecure
} catch {
    // --help exits 0; any parse or validation error exits 2 (the usual usage-error code).
    let code = KGBCommand.exitCode(for: error)
    let message = KGBCommand.fullMessage(for: error)
    if code == .success {
        print(message)
        exit(0)
    }
    fail(sources.locate(message), code: 2)
}

// A write to a connection the peer closed must be an error code, not a process-killing signal.
signal(SIGPIPE, SIG_IGN)

let loop = EventLoop()

// The log: sinks opened before serving, so a bad path fails at start-up rather than silently later.
var sinks: [LogSink] = []
for spec in logSettings.specs {
    do {
        switch spec {
        case .jsonLines(let path): sinks.append(try JSONLinesSink(path: path))
        case .standardOutput: sinks.append(StandardOutputSink())
        case .sqlite(let path): sinks.append(try SQLiteSink(path: path))
        case .none: break
        }
    } catch {
        fail("--log \(spec): \(error)", code: 2)
    }
}
let redactionKey: [UInt8] = {
    if let key = ProcessInfo.processInfo.environment["KGB_REDACTION_KEY"], !key.isEmpty { return Array(key.utf8) }
    return (0..<32).map { _ in UInt8.random(in: 0...255) }
}()
let (recorder, logger): (ExchangeRecorder?, ExchangeLogger?) = {
    guard !sinks.isEmpty else { return (nil, nil) }
    let ring = LogRing(capacity: logSettings.ringBytes)
    let wakeup = LogWakeup()
    let recorder = ExchangeRecorder(loop: loop, ring: ring, wakeup: wakeup, policy: logSettings.overflow)
    var options = LoggerOptions(redactionKey: redactionKey, instance: UInt16.random(in: 0...UInt16.max))
    options.bodyMax = logSettings.bodyMax
    let logger = ExchangeLogger(ring: ring, wakeup: wakeup, sinks: sinks, options: options)
    logger.start()
    return (recorder, logger)
}()

let gateway = Gateway(loop: loop, config: config, observer: recorder ?? NoExchangeLog())
do {
    try gateway.start()
} catch {
    fail("cannot listen on \(config.listen): \(error.message)", code: 1)
}
say("listening on \(gateway.boundAddress?.description ?? "\(config.listen)"); "
    + "log: \(logSettings.specs.map(\.description).joined(separator: ", ")) (overflow: \(logSettings.overflow.rawValue))")
for route in config.routes.sorted(by: { $0.prefix < $1.prefix }) {
    let headers = route.headers.isEmpty ? "" : " (sets \(route.headers.map(\.name).joined(separator: ", ")))"
    say("route \(route.prefix.isEmpty ? "(default)" : route.prefix) → \(route.upstream)"
        + (route.proxy.map { " via forward proxy \($0)" } ?? "") + headers)
}
if insecure {
    say("WARNING: --upstream-insecure: https upstreams' certificates are NOT verified; for tests only")
}

/// Every finished exchange's record reaches the sinks before the process exits.
func finishLogging() {
    recorder?.flushAll()
    logger?.stop()
}

var signalWatchers: [SignalWatcher] = []
for signalNumber in [SIGTERM, SIGINT] {
    signalWatchers.append(SignalWatcher(loop: loop, signal: signalNumber) {
        if gateway.isDraining {
            say("second signal: exiting now")
            finishLogging()
            exit(0)
        }
        say("draining: \(gateway.activeExchanges) exchange(s) in flight, up to \(config.drainTimeout) ms")
        gateway.drain {
            // Let the last responses' queued bytes reach their clients: the loop ends once every handle
            // has closed. A fallback timer (not keeping the loop alive itself) bounds that wait.
            say("stopped")
            for watcher in signalWatchers { watcher.close() }
            let fallback = Timer(loop: loop) {
                finishLogging()
                exit(0)
            }
            fallback.unref()
            fallback.start(milliseconds: 2_000)
        }
    })
}
// logrotate: SIGHUP reopens the log files.
signalWatchers.append(SignalWatcher(loop: loop, signal: SIGHUP) { logger?.requestReopen() })

loop.run()
finishLogging()
exit(0)
