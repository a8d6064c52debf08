// `kgb tail` and `kgb show`: the live view of the exchange log, for people at a terminal.
import ExchangeLog
import Glibc

/// The store to read: --log, else KGB_LOG, else the gateway's default (relative to the current directory). It must
/// exist: reading nothing in silence from the wrong directory helps nobody. PostgreSQL is checked by connecting.
func storeSpec(_ text: String?) throws -> (LogSpec, name: String) {
    let spec: LogSpec
    let given = text ?? ProcessEnvironment.variables["KGB_LOG"].flatMap { $0.isEmpty ? nil : $0 }
    do {
        spec = try given.map { try LogSpec(parsing: $0) } ?? LogSpec.defaultSpec
    } catch {
        throw UsageError("--log: \(error)")
    }
    let path: String
    switch spec {
    case .jsonLines(let file), .sqlite(let file): path = file
    case .postgres:
        return (spec, spec.description)  // the name hides the password; libpq's messages never show it
    case .standardOutput, .none, .collector, .otlp:
        throw UsageError("--log: \(spec) is not a store that can be read (use jsonl:PATH, sqlite:PATH or postgres://...)")
    }
    let absolute = FileSystem.absolute(path)
    let name = spec.description.replacing(path, with: absolute)
    guard FileSystem.exists(absolute) else {
        let origin = text != nil ? "from --log" : given != nil ? "from KGB_LOG" : "the default, relative to the current directory"
        throw UsageError("no log store at \(name) (\(origin)); name the store the gateway writes with --log or KGB_LOG")
    }
    return (spec, name)
}

private func store(_ text: String?) throws -> (LogStoreReader, name: String) {
    let (spec, name) = try storeSpec(text)
    do { return (try LogStoreReader(spec), name) } catch { throw UsageError("--log: \(error)") }
}

struct TailCommand {
    static var commandLine: CommandLineSpec<TailCommand> {
        CommandLineSpec(
            name: "kgb tail",
            abstract: "Follow the exchange log: one line per exchange (time, model, status, outcome, tokens, TTFB, duration).",
            discussion: "Reads a jsonl: file (following it across logrotate), a sqlite: database or a postgres:// database. Stops on Ctrl-C.",
            flags: [
                .option("log", "spec", "The log store: jsonl:PATH, sqlite:PATH or postgres://... (default: KGB_LOG, else jsonl:./kgb-logs/exchanges.jsonl).", \.log),
                CommandFlag.option("lines", "lines", "Show this many of the newest exchanges first.", \.lines).alias("n"),
                .flag("json", "Print each record as its raw JSON line.", \.json),
                .flag("no-follow", "Print the newest exchanges and exit instead of following.", \.noFollow),
                .option("agent", "name", "Only this agent's exchanges (the record's agent.name).", \.agent),
                .option("session", "id", "Only this session's exchanges (the record's agent.session).", \.session),
            ])
    }

    static func main(_ arguments: [String]) -> Never {
        commandLine.main(arguments, defaults: TailCommand()) { try $0.run() }
    }

    var log: String?
    var lines: Int = 10
    var json = false
    var noFollow = false
    var agent: String?
    var session: String?

    func run() throws {
        let (reader, name) = try store(log)
        StandardStream.error("kgb tail: reading \(name)\n")  // stderr: a pipe sees records only
        // With a filter, -n counts the exchanges that pass it.
        let newest = try reader.newest(max(0, lines), agent: agent, session: session)
        for record in newest { emit(record) }
        guard !noFollow else { return }
        while true {
            for record in reader.next() { emit(record) }
            usleep(200_000)
        }
    }

    private func passes(_ line: String) -> Bool {
        guard agent != nil || session != nil else { return true }
        guard let view = ExchangeView(line) else { return false }
        return (agent == nil || view.agentName == agent) && (session == nil || view.session == session)
    }

    /// Unbuffered, a line at a time: a pipe (`kgb tail | grep`) sees each exchange as it is logged.
    private func emit(_ line: String) {
        guard passes(line) else { return }
        let text = json ? line : ExchangeView(line)?.summaryLine
        guard let text else { return }
        StandardStream.output(text + "\n")
    }
}

struct ShowCommand {
    static var commandLine: CommandLineSpec<ShowCommand> {
        CommandLineSpec(
            name: "kgb show",
            abstract: "Print one exchange readably: request messages, the reassembled answer, usage and timings.",
            discussion: "Reads a jsonl: file, a sqlite: database or a postgres:// database.",
            flags: [
                .option("log", "spec", "The log store: jsonl:PATH, sqlite:PATH or postgres://... (default: KGB_LOG, else jsonl:./kgb-logs/exchanges.jsonl).", \.log),
                .flag("json", "Print the raw JSON record.", \.json),
            ],
            argument: CommandArgument(name: "id", help: "The exchange id (the record's \"id\", as `kgb tail` prints it).") { $0.id = $1 })
    }

    static func main(_ arguments: [String]) -> Never {
        commandLine.main(arguments, defaults: ShowCommand()) { try $0.run() }
    }

    var id = ""
    var log: String?
    var json = false

    func run() throws {
        let (reader, name) = try store(log)
        guard let line = reader.find(id: id).last else {
            throw UsageError("no exchange with id \(id) in \(name)")
        }
        if json { print(line); return }
        guard let record = ExchangeView(line) else { throw UsageError("the record for \(id) is not valid JSON") }
        print(record.details, terminator: "")
    }
}
