// Flags may also come from the environment: KGB_<FLAG NAME> (KGB_LISTEN, KGB_UPSTREAM_TIMEOUT, ...).
// A flag on the command line wins over its variable.
import Foundation

enum EnvironmentFlags {
    /// Returns `arguments` with `--flag value` appended for every KGB_ variable whose flag is not given.
    static func merge(_ arguments: [String], flags: [String], environment: [String: String]) -> [String] {
        var merged = arguments
        for flag in flags {
            let variable = "KGB_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
            guard let value = environment[variable], !value.isEmpty else { continue }
            let given = arguments.contains { $0 == "--\(flag)" || $0.hasPrefix("--\(flag)=") }
            if !given { merged += ["--\(flag)", value] }
        }
        return merged
    }
}
