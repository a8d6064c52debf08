// Where settings come from, strongest first: the command line, KGB_<FLAG> variables (KGB_LISTEN,
// KGB_UPSTREAM_TIMEOUT, ...), then the --config file. All three become one argument list for the parser.

struct ArgumentSources {
    private(set) var arguments: [String]
    /// Arguments that came from the config file: flag, value and where in the file.
    private(set) var fromFile: [ConfigFile.Argument] = []

    init(commandLine: [String], environment: [String: String]) throws(ConfigFile.Failure) {
        arguments = EnvironmentFlags.merge(commandLine, flags: KGBCommand.flagNames, switches: KGBCommand.switchNames,
                                           environment: environment)
        guard let path = value(of: "config") else { return }
        // Only what the command line and the environment said overrides the file: a file's own earlier values
        // (a list of sinks, say) do not.
        let explicit = arguments
        for argument in try ConfigFile(path: path).arguments where !Self.overrides(argument, in: explicit) {
            // `--flag=value`: a value such as "-3" must not read as a flag.
            arguments.append("--\(argument.flag)" + (argument.value.map { "=" + $0 } ?? ""))
            fromFile.append(argument)
        }
    }

    /// The value that counts for a single-valued flag: the last one given.
    private func value(of flag: String) -> String? { Self.values(of: flag, in: arguments).last }

    private static func values(of flag: String, in arguments: [String]) -> [String] {
        var found: [String] = []
        for (index, argument) in arguments.enumerated() {
            if argument == "--\(flag)", index + 1 < arguments.count { found.append(arguments[index + 1]) }
            if argument.hasPrefix("--\(flag)=") { found.append(String(argument.dropFirst(flag.count + 3))) }
        }
        return found
    }

    /// Is a file setting overridden by a flag or variable? Routes and route headers are overridden one by one
    /// (same prefix; same prefix and header name); every other setting as a whole.
    private static func overrides(_ argument: ConfigFile.Argument, in arguments: [String]) -> Bool {
        switch argument.flag {
        case "route":
            let prefix = argument.value!.prefix { $0 != "=" }
            return values(of: "route", in: arguments).contains { $0.prefix { $0 != "=" } == prefix }
        case "route-header":
            let key = headerKey(argument.value!)
            return values(of: "route-header", in: arguments).contains { headerKey($0) == key }
        default:
            return arguments.contains { $0 == "--\(argument.flag)" || $0.hasPrefix("--\(argument.flag)=") }
        }
    }

    /// Does the message name `--flag` itself (not a longer flag that starts the same)?
    private static func mentions(_ message: String, flag: String) -> Bool {
        var rest = Substring(message)
        while let start = rest.firstRange(of: "--\(flag)") {
            let after = rest[start.upperBound...].first
            if after == nil || !(after!.isLetter || after!.isNumber || after! == "-") { return true }
            rest = rest[start.upperBound...]
        }
        return false
    }

    private static func headerKey(_ spec: String) -> String {
        let left = spec.prefix { $0 != "=" }
        guard let colon = left.lastIndex(of: ":") else { return ":" + left.lowercased() }
        return left[..<colon] + ":" + left[left.index(after: colon)...].lowercased()
    }

    /// An error about a flag whose value came from the config file names the file, line and key.
    func locate(_ message: String) -> String {
        let candidates = fromFile.filter { Self.mentions(message, flag: $0.flag) }
        guard !candidates.isEmpty else { return message }
        let flagGiven = arguments.filter { $0 == "--\(candidates[0].flag)" || $0.hasPrefix("--\(candidates[0].flag)=") }.count
        // Several values for the flag: the one quoted in the message.
        if let match = candidates.first(where: { $0.value.map { !$0.isEmpty && message.contains($0.prefix(40)) } ?? false }) {
            return "\(match.origin): \(message)"
        }
        return flagGiven == candidates.count ? "\(candidates[0].origin): \(message)" : message
    }
}

enum EnvironmentFlags {
    /// Returns `arguments` with `--flag value` appended for every KGB_ variable whose flag is not given
    /// (`--switch` for an on/off flag whose variable is 1 or true).
    static func merge(_ arguments: [String], flags: [String], switches: [String] = [], environment: [String: String]) -> [String] {
        var merged = arguments
        func given(_ flag: String) -> Bool { arguments.contains { $0 == "--\(flag)" || $0.hasPrefix("--\(flag)=") } }
        for flag in flags {
            guard let value = environment[variable(flag)], !value.isEmpty, !given(flag) else { continue }
            merged.append("--\(flag)=\(value)")
        }
        for flag in switches where !given(flag) {
            if let value = environment[variable(flag)], ["1", "true", "yes"].contains(value.lowercased()) { merged.append("--\(flag)") }
        }
        return merged
    }

    static func variable(_ flag: String) -> String {
        "KGB_" + String(decoding: flag.utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "_") : $0 }, as: UTF8.self).uppercased()
    }
}
