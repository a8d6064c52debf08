// kgb's entry point: parse the command line, start the gateway on this thread's event loop, drain on
// SIGTERM/SIGINT and exit 0.
import ArgumentParser
import Foundation
import Gateway
import UV

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("kgb: \(message)\n".utf8))
    exit(code)
}

func say(_ message: String) {
    FileHandle.standardError.write(Data("kgb: \(message)\n".utf8))
}

let arguments = EnvironmentFlags.merge(Array(CommandLine.arguments.dropFirst()), flags: KGBCommand.flagNames,
                                       environment: ProcessInfo.processInfo.environment)
let config: GatewayConfig
do {
    let command = try KGBCommand.parse(arguments)
    config = try command.gatewayConfig()
} catch {
    // --help and --version exit 0; any parse or validation error exits 2 (the usual usage-error code).
    let code = KGBCommand.exitCode(for: error)
    let message = KGBCommand.fullMessage(for: error)
    if code == .success {
        print(message)
        exit(0)
    }
    fail(message, code: 2)
}

// A write to a connection the peer closed must be an error code, not a process-killing signal.
signal(SIGPIPE, SIG_IGN)

let loop = EventLoop()
let gateway = Gateway(loop: loop, config: config)
do {
    try gateway.start()
} catch {
    fail("cannot listen on \(config.listen): \(error.message)", code: 1)
}
say("listening on \(gateway.boundAddress?.description ?? "\(config.listen)") → upstream \(config.upstream)")

var signalWatchers: [SignalWatcher] = []
for signalNumber in [SIGTERM, SIGINT] {
    signalWatchers.append(SignalWatcher(loop: loop, signal: signalNumber) {
        if gateway.isDraining {
            say("second signal: exiting now")
            exit(0)
        }
        say("draining: \(gateway.activeExchanges) exchange(s) in flight, up to \(config.drainTimeout) ms")
        gateway.drain {
            // Let the last responses' queued bytes reach their clients: the loop ends once every handle
            // has closed. A fallback timer (not keeping the loop alive itself) bounds that wait.
            say("stopped")
            for watcher in signalWatchers { watcher.close() }
            let fallback = Timer(loop: loop) { exit(0) }
            fallback.unref()
            fallback.start(milliseconds: 2_000)
        }
    })
}

loop.run()
exit(0)
