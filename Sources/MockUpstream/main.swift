// kgb-mock-upstream's entry point: parse the flags, listen, announce the bound address on stderr (tests wait
// for that line), serve on this thread's event loop, exit 0 on SIGTERM/SIGINT.
import ArgumentParser
import Foundation
import TLS
import UV

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("kgb-mock-upstream: \(message)\n".utf8))
    exit(code)
}

let command: MockCommand
let address: SocketAddress
do {
    command = try MockCommand.parse(Array(CommandLine.arguments.dropFirst()))
    address = try MockCommand.listenAddress(command.listen)
} catch {
    // --help exits 0; any parse or validation error exits 2, the usual usage-error code.
    let message = MockCommand.fullMessage(for: error)
    if MockCommand.exitCode(for: error) == .success {
        print(message)
        exit(0)
    }
    fail(message, code: 2)
}

// A write to a connection the peer closed must be an error code, not a process-killing signal.
signal(SIGPIPE, SIG_IGN)

let loop = EventLoop()
var tls: TLSContext? = nil
if let certificate = command.tlsCert, let key = command.tlsKey {
    do { tls = try TLSContext(serverCertificate: certificate, key: key) } catch {
        fail("--tls-cert/--tls-key: \(error.message)", code: 2)
    }
}
let server = MockServer(loop: loop, defaults: command.defaults, tls: tls)
let bound: SocketAddress
do {
    bound = try server.start(at: address)
} catch {
    fail("cannot listen on \(address): \(error.message)", code: 1)
}
FileHandle.standardError.write(Data("mock upstream listening on \(bound)\n".utf8))

let signalWatchers = [SIGTERM, SIGINT].map { signalNumber in
    SignalWatcher(loop: loop, signal: signalNumber) { exit(0) }
}

loop.run()
