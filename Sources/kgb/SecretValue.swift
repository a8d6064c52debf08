// A value that may be a secret, as the command line and the files name it: `env:VAR` (the variable's value),
// `file:PATH` (the file's contents, trailing newline dropped: a mounted Kubernetes secret), or the text itself,
// with each `${VAR}` replaced where the caller allows it. One reading for route headers, log headers and agent keys.
import ExchangeLog

enum SecretValue {
    enum Failure: Error {
        /// Unset or empty: an error, never an empty value.
        case unsetVariable(String)
        case unreadableFile(String)
    }

    static func resolve(_ spec: String, environment: [String: String], substituting: Bool) throws(Failure) -> String {
        func variable(_ name: String) throws(Failure) -> String {
            guard let value = environment[name], !value.isEmpty else { throw .unsetVariable(name) }
            return value
        }
        if spec.hasPrefix("env:") { return try variable(String(spec.dropFirst(4))) }
        if spec.hasPrefix("file:") {
            let path = String(spec.dropFirst(5))
            guard let contents = FileSystem.read(path) else { throw .unreadableFile(path) }
            var text = String(decoding: contents, as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return text
        }
        guard substituting else { return spec }
        var out = ""
        var rest = Substring(spec)
        while let start = rest.firstIndex(of: "$") {
            out += rest[..<start]
            let after = rest[rest.index(after: start)...]
            guard after.hasPrefix("{"), let close = after.firstIndex(of: "}") else {
                out.append("$")
                rest = after
                continue
            }
            out += try variable(String(after[after.index(after: after.startIndex)..<close]))
            rest = after[after.index(after: close)...]
        }
        return out + rest
    }
}
