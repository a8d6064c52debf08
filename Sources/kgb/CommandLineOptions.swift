// kgb's command lines read from a table of their flags: `--name value`, `--name=value`, `-n value`, switches, one
// positional argument where a command takes one, `-h`/`--help`. Written out rather than through
// swift-argument-parser, whose reflection over property wrappers was a third of kgb's start-up instructions and which
// linked FoundationEssentials into the binary (bench/RESULTS.md, "Sidecar").
import ExchangeLog
import Glibc

/// A mistake on the command line or in a value, said to the operator (exit code 2).
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `-h` or `--help` was given: the help text is printed and kgb exits 0.
struct HelpRequested: Error {}

/// One flag of a command whose settings are the stored properties of `Command`.
struct CommandFlag<Command> {
    let name: String
    /// A one-letter alias (`-n`), if any.
    var short: Character? = nil
    /// nil for a switch, which takes no value.
    let valueName: String?
    let help: String
    /// The default shown in the help, from a command with nothing set.
    let shownDefault: (Command) -> String?
    let apply: (inout Command, String) throws(UsageError) -> Void

    var label: String { (short.map { "-\($0), " } ?? "") + "--\(name)" + (valueName.map { " <\($0)>" } ?? "") }

    /// The same flag, also spelled `-c`.
    func alias(_ character: Character) -> CommandFlag {
        var flag = self
        flag.short = character
        return flag
    }

    static func option(_ name: String, _ valueName: String, _ help: String,
                       _ path: WritableKeyPath<Command, String>) -> CommandFlag {
        CommandFlag(name: name, valueName: valueName, help: help, shownDefault: { $0[keyPath: path] }) { command, value in
            command[keyPath: path] = value
        }
    }

    static func option(_ name: String, _ valueName: String, _ help: String,
                       _ path: WritableKeyPath<Command, String?>) -> CommandFlag {
        CommandFlag(name: name, valueName: valueName, help: help, shownDefault: { _ in nil }) { command, value in
            command[keyPath: path] = value
        }
    }

    /// Repeatable: each occurrence appends.
    static func option(_ name: String, _ valueName: String, _ help: String,
                       _ path: WritableKeyPath<Command, [String]>) -> CommandFlag {
        CommandFlag(name: name, valueName: valueName, help: help, shownDefault: { _ in nil }) { command, value in
            command[keyPath: path].append(value)
        }
    }

    static func option(_ name: String, _ valueName: String, _ help: String,
                       _ path: WritableKeyPath<Command, Int>) -> CommandFlag {
        CommandFlag(name: name, valueName: valueName, help: help, shownDefault: { String($0[keyPath: path]) }) { command, value throws(UsageError) in
            guard let number = Int(value) else { throw invalid(value, name, valueName) }
            command[keyPath: path] = number
        }
    }

    static func option(_ name: String, _ valueName: String, _ help: String,
                       _ path: WritableKeyPath<Command, Int?>) -> CommandFlag {
        CommandFlag(name: name, valueName: valueName, help: help, shownDefault: { _ in nil }) { command, value throws(UsageError) in
            guard let number = Int(value) else { throw invalid(value, name, valueName) }
            command[keyPath: path] = number
        }
    }

    static func option(_ name: String, _ valueName: String, _ help: String,
                       _ path: WritableKeyPath<Command, Double>) -> CommandFlag {
        CommandFlag(name: name, valueName: valueName, help: help, shownDefault: { String($0[keyPath: path]) }) { command, value throws(UsageError) in
            guard let number = Double(value) else { throw invalid(value, name, valueName) }
            command[keyPath: path] = number
        }
    }

    static func flag(_ name: String, _ help: String, _ path: WritableKeyPath<Command, Bool>) -> CommandFlag {
        CommandFlag(name: name, valueName: nil, help: help, shownDefault: { _ in nil }) { command, _ in
            command[keyPath: path] = true
        }
    }

    private static func invalid(_ value: String, _ name: String, _ valueName: String) -> UsageError {
        UsageError("The value '\(value)' is invalid for '--\(name) <\(valueName)>'")
    }
}

/// A positional argument (`kgb show ID`): required, one.
struct CommandArgument<Command> {
    let name: String
    let help: String
    let apply: (inout Command, String) -> Void
}

/// A command's flags, how it is introduced in its help, and the parse.
struct CommandLineSpec<Command> {
    let name: String
    let abstract: String
    let discussion: String
    let flags: [CommandFlag<Command>]
    var argument: CommandArgument<Command>? = nil

    /// Applies every argument to `command` in order (a repeated single-valued flag: the last one counts).
    func parse(_ arguments: [String], into command: inout Command) throws -> Void {
        var index = 0
        var positional: String?
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "-h" || argument == "--help" { throw HelpRequested() }
            let flag: CommandFlag<Command>
            let name: String
            var attached: String?
            if argument.hasPrefix("--"), argument.count > 2 {
                let body = argument.dropFirst(2)
                name = String(body.prefix { $0 != "=" })
                attached = body.firstIndex(of: "=").map { String(body[body.index(after: $0)...]) }
                guard let found = flags.first(where: { $0.name == name }) else { throw UsageError("Unknown option '--\(name)'") }
                flag = found
            } else if argument.count == 2, argument.hasPrefix("-"), argument != "--" {
                guard let found = flags.first(where: { $0.short == argument.last }) else { throw UsageError("Unknown option '\(argument)'") }
                flag = found
                name = found.name
            } else if let spec = self.argument, positional == nil {
                positional = argument
                spec.apply(&command, argument)
                continue
            } else {
                throw UsageError("Unexpected argument '\(argument)'")
            }
            guard flag.valueName != nil else {
                guard attached == nil else { throw UsageError("The flag '--\(name)' does not take a value") }
                try flag.apply(&command, "")
                continue
            }
            let value: String
            if let attached {
                value = attached
            } else if index < arguments.count, !arguments[index].hasPrefix("--") {
                // A value may start with one dash (a negative number, say); two mean the next flag.
                value = arguments[index]
                index += 1
            } else {
                throw UsageError("Missing value for '\(flag.label)'")
            }
            try flag.apply(&command, value)
        }
        if let spec = argument, positional == nil { throw UsageError("Missing expected argument '<\(spec.name)>'") }
    }

    /// Runs a command the way every kgb command runs: -h prints the help (exit 0); a usage mistake, in the arguments
    /// or found by `run`, prints it with the usage (exit 64, EX_USAGE); any other failure prints it (exit 1).
    func main(_ arguments: [String], defaults: Command, run: (Command) throws -> Void) -> Never {
        var command = defaults
        do {
            try parse(arguments, into: &command)
            try run(command)
            exit(0)
        } catch is HelpRequested {
            print(help(defaults: defaults), terminator: "")
            exit(0)
        } catch let error as UsageError {
            StandardStream.error("Error: \(error)\n\(usageHint)\n")
            exit(64)
        } catch {
            StandardStream.error("Error: \(error)\n")
            exit(1)
        }
    }

    /// What a usage error prints after its message.
    var usageHint: String { "Usage: \(usage)\n  See '\(name) --help' for more information." }

    private var usage: String { name + (argument.map { " <\($0.name)>" } ?? "") + " <options>" }

    /// The help: overview, discussion, then each flag with its help wrapped beside it and its default.
    func help(defaults: Command) -> String {
        var out = "OVERVIEW: \(Self.wrap(abstract, width: 80, indent: 0, firstLineUsed: 10))\n\n"
        out += discussion + "\n\nUSAGE: \(usage)\n\n"
        let column = 26
        if let argument {
            let head = "  <\(argument.name)>"
            out += "ARGUMENTS:\n" + head + String(repeating: " ", count: max(2, column - head.count))
            out += Self.wrap(argument.help, width: 80, indent: column, firstLineUsed: column) + "\n\n"
        }
        out += "OPTIONS:\n"
        for flag in flags + [CommandFlag(name: "help", valueName: nil, help: "Show help information.",
                                         shownDefault: { _ in nil }, apply: { _, _ in })] {
            let label = flag.name == "help" ? "-h, --help" : flag.label
            let text = flag.help + (flag.shownDefault(defaults).map { " (default: \($0))" } ?? "")
            let head = "  " + label
            if head.count + 2 <= column {
                out += head + String(repeating: " ", count: column - head.count)
                out += Self.wrap(text, width: 80, indent: column, firstLineUsed: column) + "\n"
            } else {
                out += head + "\n" + String(repeating: " ", count: column)
                out += Self.wrap(text, width: 80, indent: column, firstLineUsed: column) + "\n"
            }
        }
        return out
    }

    /// Words filled to `width` columns; continuation lines indented by `indent`.
    private static func wrap(_ text: String, width: Int, indent: Int, firstLineUsed: Int) -> String {
        var out = ""
        var used = firstLineUsed
        var lineHasWord = false
        for word in text.split(separator: " ") {
            if lineHasWord && used + 1 + word.count > width {
                out += "\n" + String(repeating: " ", count: indent)
                used = indent
                lineHasWord = false
            }
            if lineHasWord {
                out += " "
                used += 1
            }
            out += word
            used += word.count
            lineHasWord = true
        }
        return out
    }
}
