// --agents FILE: the agents allowed to use the gateway, as TOML.
//
//     [[agent]]
//     name = "build-bot"
//     key = "env:BUILD_BOT_KEY"        # or "file:PATH", or key_sha256 = "<hex sha256 of the key>"
//     max_concurrent = 4               # every limit is optional
//     requests_per_minute = 120
//     tokens_per_minute = 200000
//     usd_per_day = 25.0
//     routes = ["/v1/"]
//
// Every error names the file, the agent and the key; a key's value never appears in a message.
import ExchangeLog
import Gateway
import Glibc
import Metrics
import TLS
import TOML

enum AgentsFile {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let keys: Set = ["name", "key", "key_sha256", "max_concurrent", "requests_per_minute", "tokens_per_minute",
                            "usd_per_day", "routes"]

    static func load(path: String, environment: [String: String]) throws(Failure) -> [AgentConfig] {
        guard let data = FileSystem.read(path) else { throw Failure(description: "--agents: cannot read \(path)") }
        let table: TOMLTable
        do { table = try TOMLTable(parsing: String(decoding: data, as: UTF8.self)) } catch {
            throw Failure(description: "--agents: \(path) line \(error.line): \(error.message)")
        }
        for key in table.keys where key != "agent" {
            throw Failure(description: "--agents: \(path): unknown key '\(key)' (agents are [[agent]] tables)")
        }
        guard let list = table["agent"]?.array, !list.isEmpty else {
            throw Failure(description: "--agents: \(path) defines no agent (add [[agent]] tables)")
        }
        var agents: [AgentConfig] = []
        for (index, item) in list.enumerated() {
            guard let entry = item.table else { throw Failure(description: "--agents: \(path): agent \(index + 1) must be a table") }
            let agent = try read(entry, number: index + 1, path: path, environment: environment)
            if let other = agents.first(where: { $0.name == agent.name }) {
                throw Failure(description: "--agents: \(path): two agents are named '\(other.name)'")
            }
            if let other = agents.first(where: { $0.keyDigest == agent.keyDigest }) {
                throw Failure(description: "--agents: \(path): agents '\(other.name)' and '\(agent.name)' have the same key")
            }
            agents.append(agent)
        }
        return agents
    }

    private static func read(_ entry: TOMLTable, number: Int, path: String, environment: [String: String]) throws(Failure) -> AgentConfig {
        guard let name = entry["name"]?.string, !name.isEmpty else {
            throw Failure(description: "--agents: \(path): agent \(number) needs a name")
        }
        func failure(_ message: String) -> Failure { Failure(description: "--agents: \(path): agent '\(name)': \(message)") }
        for key in entry.keys where !keys.contains(key) {
            throw failure("unknown key '\(key)' (known: \(keys.sorted().joined(separator: ", ")))")
        }
        let digest: KeyDigest
        switch (entry["key"]?.string, entry["key_sha256"]?.string) {
        case (let key?, nil):
            let secret = try resolve(key, environment, failure)
            digest = secret.withCString { KeyDigest(of: UnsafeRawBufferPointer(start: $0, count: strlen($0))) }
        case (nil, let hex?):
            guard let parsed = KeyDigest(hex: hex) else { throw failure("key_sha256 must be 64 hex digits") }
            digest = parsed
        case (nil, nil): throw failure("needs key (env:VAR, file:PATH or the key) or key_sha256")
        case (_?, _?): throw failure("give key or key_sha256, not both")
        }
        var agent = AgentConfig(name: name, keyDigest: digest)
        agent.limits.maxConcurrent = try positiveInt(entry, "max_concurrent", failure)
        agent.limits.requestsPerMinute = try positiveInt(entry, "requests_per_minute", failure)
        agent.limits.tokensPerMinute = try positiveInt(entry, "tokens_per_minute", failure)
        if let value = entry["usd_per_day"] {
            guard let usd = value.double ?? value.int.map(Double.init), usd > 0, usd.isFinite else {
                throw failure("usd_per_day must be a number above 0")
            }
            agent.limits.usdPerDay = usd
        }
        if let value = entry["routes"] {
            guard let list = value.array, let prefixes = Optional(list.compactMap(\.string)), prefixes.count == list.count,
                  prefixes.allSatisfy({ $0.hasPrefix("/") }) else {
                throw failure("routes must be a list of path prefixes starting with /")
            }
            agent.routes = prefixes
        }
        return agent
    }

    /// `env:VAR`, `file:PATH` or the key itself (SecretValue; no `${VAR}`: a key is taken as it is written).
    private static func resolve(_ spec: String, _ environment: [String: String], _ failure: (String) -> Failure) throws(Failure) -> String {
        let key: String
        do {
            key = try SecretValue.resolve(spec, environment: environment, substituting: false)
        } catch {
            switch error {
            case .unsetVariable(let variable): throw failure("key needs the environment variable \(variable), which is not set")
            case .unreadableFile(let file): throw failure("cannot read the key file \(file)")
            }
        }
        guard !key.isEmpty else { throw failure("the key is empty") }
        guard key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { throw failure("the key must be printable ASCII without spaces") }
        return key
    }

    private static func positiveInt(_ entry: TOMLTable, _ key: String, _ failure: (String) -> Failure) throws(Failure) -> Int? {
        guard let value = entry[key] else { return nil }
        guard let number = value.int, number > 0 else { throw failure("\(key) must be a whole number above 0") }
        return number
    }
}
