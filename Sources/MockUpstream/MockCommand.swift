// The mock's command line: where to listen and the defaults for the per-request knobs.
import ArgumentParser
import UV

struct MockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kgb-mock-upstream",
        abstract: "A mock Anthropic/OpenAI upstream for testing kgb: SSE and JSON answers, byte patterns, echo, and faults on request.",
        discussion: """
        Per request, as a query parameter or a header (the query wins): events / x-mock-events, interval_ms / \
        x-mock-interval-ms, gzip / x-mock-gzip, fault / x-mock-fault (reset, stall, close-delimited, no-response, \
        close-before-head, truncate), fault_after / x-mock-fault-after, timestamps / x-mock-timestamps.

        Exit codes: 0 on SIGTERM/SIGINT, 1 when it cannot listen, 2 for a bad flag or value.
        """)

    @Option(help: ArgumentHelp("Address to listen on, HOST:PORT ([::1]:PORT for IPv6); port 0 picks a free one.", valueName: "host:port"))
    var listen: String

    @Option(help: ArgumentHelp("Default number of text deltas in a response.", valueName: "count"))
    var events: Int = 20

    @Option(name: .customLong("interval-ms"), help: ArgumentHelp("Default delay between SSE events, in milliseconds.", valueName: "ms"))
    var intervalMs: Int = 0

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("Serve TLS with this PEM certificate chain (needs --tls-key).", valueName: "file"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("The PEM private key for --tls-cert.", valueName: "file"))
    var tlsKey: String?

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        _ = try Self.listenAddress(listen)
        guard events >= 0 else { throw ValidationError("--events must not be negative (got \(events))") }
        guard (0...3_600_000).contains(intervalMs) else {
            throw ValidationError("--interval-ms must be between 0 and 3600000 (got \(intervalMs))")
        }
    }

    var defaults: Defaults { Defaults(events: events, intervalMs: UInt64(intervalMs)) }

    static func listenAddress(_ text: String) throws -> SocketAddress {
        guard let address = SocketAddress(listen: text) else {
            throw ValidationError("--listen must be HOST:PORT with a numeric address, e.g. 127.0.0.1:9000 or [::1]:9000 (got '\(text)')")
        }
        return address
    }
}
