// --upstream, --route and --route-header → the gateway's routes, each value checked and named in its error.
import Gateway
import HTTP1

enum RouteOptions {
    static func routes(upstream: String?, routes: [String], headers: [String],
                       environment: [String: String]) throws -> [RouteConfig] {
        var configs: [RouteConfig] = []
        if let upstream {
            do { configs.append(RouteConfig(prefix: "", upstream: try UpstreamURL(upstream))) } catch {
                throw UsageError("--upstream: \(error)")
            }
        }
        for text in routes {
            guard let equals = text.firstIndex(of: "=") else {
                throw UsageError("--route: '\(text)' must be PREFIX=URL, e.g. /openai/=https://api.openai.com/")
            }
            let prefix = String(text[..<equals])
            guard prefix.hasPrefix("/") else {
                throw UsageError("--route: the prefix in '\(text)' must start with / (the default route is --upstream)")
            }
            do { configs.append(RouteConfig(prefix: prefix, upstream: try UpstreamURL(String(text[text.index(after: equals)...])))) } catch {
                throw UsageError("--route: \(error)")
            }
        }
        guard !configs.isEmpty else {
            throw UsageError("--upstream or --route is required (or KGB_UPSTREAM), e.g. --upstream https://api.anthropic.com")
        }
        // A prefix given more than once is one route with its upstreams in order (failover). `PREFIX:NAME=VALUE`
        // sets a header on each of them; `PREFIX#N:NAME=VALUE` on the N-th only (its own key, say), and wins.
        var general: [(prefix: String, name: String, value: String)] = []
        var specific: [(index: Int, name: String, value: String)] = []
        for text in headers {
            let header = try parseHeader(text, environment: environment)
            var prefix = header.prefix
            var position: Int?
            if let hash = prefix.lastIndex(of: "#"), let number = Int(prefix[prefix.index(after: hash)...]) {
                position = number
                prefix = String(prefix[..<hash])
            }
            let indices = configs.indices.filter { configs[$0].prefix == prefix }
            guard !indices.isEmpty else {
                throw UsageError(prefix.isEmpty
                    ? "--route-header: '\(redacted(text))' is for the --upstream route, and there is no --upstream"
                    : "--route-header: no --route has the prefix \(prefix)")
            }
            if let position {
                guard position >= 1 && position <= indices.count else {
                    throw UsageError("--route-header: route \(prefix) has \(indices.count) upstream(s), so there is no #\(position)")
                }
                let index = indices[position - 1]
                guard !specific.contains(where: { $0.index == index && $0.name.lowercased() == header.name.lowercased() }) else {
                    throw UsageError("--route-header: \(header.name) is set twice for upstream #\(position) of route \(configs[index].label)")
                }
                specific.append((index, header.name, header.value))
            } else {
                guard !general.contains(where: { $0.prefix == prefix && $0.name.lowercased() == header.name.lowercased() }) else {
                    throw UsageError("--route-header: \(header.name) is set twice for route \(configs[indices[0]].label)")
                }
                general.append((prefix, header.name, header.value))
            }
        }
        for index in configs.indices {
            let own = specific.filter { $0.index == index }
            for header in general where header.prefix == configs[index].prefix
                && !own.contains(where: { $0.name.lowercased() == header.name.lowercased() }) {
                configs[index].headers.append((header.name, header.value))
            }
            for header in own { configs[index].headers.append((header.name, header.value)) }
        }
        return configs
    }

    /// `[PREFIX:]NAME=VALUE`; the prefix ends at the last ':' before the '='.
    static func parseHeader(_ text: String, environment: [String: String]) throws -> (prefix: String, name: String, value: String) {
        guard let equals = text.firstIndex(of: "=") else {
            throw UsageError("--route-header: '\(redacted(text))' must be [PREFIX:]NAME=VALUE, e.g. x-api-key=env:ANTHROPIC_API_KEY")
        }
        let left = text[..<equals]
        var prefix = ""
        var name = String(left)
        if let colon = left.lastIndex(of: ":") {
            prefix = String(left[..<colon])
            name = String(left[left.index(after: colon)...])
        }
        guard !name.isEmpty, name.utf8.allSatisfy(ASCII.isTokenByte) else {
            throw UsageError("--route-header: '\(name)' is not a valid header name")
        }
        let reserved = ["host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade", "expect"]
        guard !reserved.contains(name.lowercased()) else {
            throw UsageError("--route-header: \(name) is managed by the gateway and cannot be set")
        }
        let value = try resolveValue(String(text[text.index(after: equals)...]), header: name, environment: environment)
        guard !value.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a || $0 == 0 }) else {
            throw UsageError("--route-header: the value of \(name) contains a line break or NUL")
        }
        return (prefix, name, value)
    }

    /// A header's value (SecretValue: `env:`, `file:`, text with `${VAR}`), its failures named for `flag`.
    static func resolveValue(_ spec: String, flag: String = "--route-header", header: String,
                             environment: [String: String]) throws -> String {
        do {
            return try SecretValue.resolve(spec, environment: environment, substituting: true)
        } catch {
            switch error {
            case .unsetVariable(let name):
                throw UsageError("\(flag): \(header) needs the environment variable \(name), which is not set")
            case .unreadableFile(let path):
                throw UsageError("\(flag): \(header): cannot read \(path)")
            }
        }
    }

    /// The spec without its value (a literal value may be a secret).
    static func redacted(_ text: String) -> String {
        guard let equals = text.firstIndex(of: "=") else { return text }
        return String(text[...equals]) + "…"
    }
}
