// One exchange record read as an OpenTelemetry span, following the GenAI semantic conventions for an inference
// client span (gen_ai.*): what OTLPTraces encodes. Runs on a sink's delivery thread.
private import COpenSSL

struct ExchangeSpan {
    enum Value: Equatable {
        case string(String)
        case int(Int)
        case double(Double)
        case bool(Bool)
        case strings([String])
    }

    /// The three APIs kgb knows; all three are "chat" in the conventions' terms.
    enum API: Equatable {
        case anthropicMessages
        case openAIChat
        case openAIResponses

        var provider: String {
            switch self {
            case .anthropicMessages: "anthropic"
            case .openAIChat, .openAIResponses: "openai"
            }
        }
    }

    var traceID: [UInt8]
    var spanID: [UInt8]
    /// The client's span when its request carried a W3C `traceparent`: kgb's span joins that trace.
    var parentSpanID: [UInt8]?
    var name: String
    var startNanos: UInt64
    var endNanos: UInt64
    /// In the order written; each key at most once.
    var attributes: [(key: String, value: Value)] = []
    /// Set when the exchange failed: the span's status is ERROR with this description (nil: none to give).
    var failed = false
    var statusMessage: String?

    func attribute(_ key: String) -> Value? {
        attributes.first { $0.key == key }?.value
    }

    /// Nil when the bytes are not a kgb record (not a JSON object, or no `id` or readable `started_at`): there
    /// is no span to make of them, and a collector would refuse one without ids or times.
    init?(record bytes: [UInt8], includeContent: Bool) {
        guard let record = JSONTree(parsing: bytes), record.object != nil else { return nil }
        self.init(record: record, includeContent: includeContent)
    }

    init?(record: JSONTree, includeContent: Bool) {
        guard let id = record["id"]?.nonEmptyString, let startedAt = record["started_at"]?.string,
              let start = RFC3339.nanos(parsing: startedAt) else { return nil }
        let request = record["request"]?.object ?? [:]
        let response = record["response"]?.object
        let usage = record["usage"]?.object
        let outcome = record["outcome"]?.string ?? "complete"
        let path = record["path"]?.string ?? ""
        let requestBody = request["body"]?.string
        let responseBody = response?["body"]?.string
        let isStream = record["sse"]?.object != nil

        (traceID, spanID, parentSpanID) = Self.ids(exchangeID: id, headers: request["headers"]?.object)
        startNanos = start
        // A null total (the exchange never got that far in its own clock) is a zero-length span, not a guess; so
        // is a figure no exchange takes (a record edited by hand must not trap the sink's thread).
        let totalNanos = ((record["timing"]?["total_ms"]?.double ?? 0) * 1e6).rounded()
        let duration = totalNanos > 0 && totalNanos < 1e18 ? UInt64(totalNanos) : 0
        let end = start.addingReportingOverflow(duration)
        endNanos = end.overflow ? start : end.partialValue

        let asked = requestBody.map { RequestFacts(body: $0) } ?? RequestFacts()
        let answer = responseBody.map { AnswerFacts(body: $0, isStream: isStream) } ?? AnswerFacts()
        let api = Self.api(path: path) ?? answer.api
        let status = response?["status"]?.int

        if let api {
            name = asked.model.map { "chat \($0)" } ?? "chat"
            add("gen_ai.operation.name", .string("chat"))
            add("gen_ai.provider.name", .string(api.provider))
        } else {
            // Not one of the message APIs (a model list, a token count): an HTTP client span, named as those are.
            name = record["method"]?.string ?? "HTTP"
        }
        if let model = asked.model { add("gen_ai.request.model", .string(model)) }
        if asked.stream { add("gen_ai.request.stream", .bool(true)) }
        if let n = asked.maxTokens { add("gen_ai.request.max_tokens", .int(n)) }
        if let t = asked.temperature { add("gen_ai.request.temperature", .double(t)) }
        if let p = asked.topP { add("gen_ai.request.top_p", .double(p)) }
        if let upstream = record["upstream"]?.string, let server = Self.server(upstream) {
            add("server.address", .string(server.address))
            add("server.port", .int(server.port))
        }
        if let method = record["method"]?.string { add("http.request.method", .string(method)) }
        if let status { add("http.response.status_code", .int(status)) }

        if let model = usage?["model"]?.nonEmptyString { add("gen_ai.response.model", .string(model)) }
        if let responseID = answer.id { add("gen_ai.response.id", .string(responseID)) }
        let stopReason = usage?["stop_reason"]?.nonEmptyString
        if let stopReason { add("gen_ai.response.finish_reasons", .strings([stopReason])) }
        addTokens(usage, api: api)

        // Errors as the conventions' "Recording errors" says: kgb's outcome when the exchange did not complete
        // (client_aborted, upstream_error, upstream_timeout, rejected); for a complete exchange whose upstream
        // answered 4xx/5xx, the provider's error code from the body (overloaded_error, rate_limit_exceeded),
        // else the status code.
        if outcome != "complete" {
            failed = true
            add("error.type", .string(outcome))
            statusMessage = record["error"]?.nonEmptyString
        } else if let status, status >= 400 {
            failed = true
            add("error.type", .string(answer.errorType ?? String(status)))
            statusMessage = answer.errorMessage
        }

        let agent = record["agent"]?.object
        let session = agent?["session"]?.nonEmptyString
        // The agent's session (Claude Code's x-claude-code-session-id) is what the conventions call a conversation.
        if let session { add("gen_ai.conversation.id", .string(session)) }
        add("kgb.exchange.id", .string(id))
        add("kgb.outcome", .string(outcome))
        if let name = agent?["name"]?.nonEmptyString { add("kgb.agent.name", .string(name)) }
        if let session { add("kgb.session", .string(session)) }
        if let cost = record["cost_usd"]?.double { add("kgb.cost_usd", .double(cost)) }

        guard includeContent else { return }
        if let requestBody, let content = GenAIMessages.input(requestBody: requestBody, api: api) {
            if let system = content.system { add("gen_ai.system_instructions", .string(system)) }
            if let messages = content.messages { add("gen_ai.input.messages", .string(messages)) }
        }
        // An error answer is no output message; a stream cut short still sent the text it had.
        if let status, status < 400,
           let output = GenAIMessages.output(responseBody: isStream ? nil : responseBody,
                                             streamText: isStream ? record["sse"]?["text"]?.string : nil,
                                             finishReason: stopReason ?? (outcome == "complete" ? "stop" : "error")) {
            add("gen_ai.output.messages", .string(output))
        }
    }

    private mutating func add(_ key: String, _ value: Value) {
        attributes.append((key, value))
    }

    /// The conventions count every input token in gen_ai.usage.input_tokens, cached ones included: OpenAI's
    /// prompt_tokens already does, Anthropic's input_tokens leaves out cache reads and writes, which are added.
    private mutating func addTokens(_ usage: [String: JSONTree]?, api: API?) {
        guard let usage else { return }
        let cacheRead = usage["cache_read_input_tokens"]?.int
        let cacheCreation = usage["cache_creation_input_tokens"]?.int
        if var input = usage["input_tokens"]?.int {
            // The counts are the upstream's: one absurd enough to overflow the sum is not added, rather than trap.
            if api == .anthropicMessages {
                for cached in [cacheRead, cacheCreation] {
                    let sum = input.addingReportingOverflow(cached ?? 0)
                    input = sum.overflow ? input : sum.partialValue
                }
            }
            add("gen_ai.usage.input_tokens", .int(input))
        }
        if let n = usage["output_tokens"]?.int { add("gen_ai.usage.output_tokens", .int(n)) }
        if let n = cacheRead { add("gen_ai.usage.cache_read.input_tokens", .int(n)) }
        if let n = cacheCreation { add("gen_ai.usage.cache_creation.input_tokens", .int(n)) }
    }

    // MARK: Ids

    /// Span id (and, without a traceparent, trace id) from SHA-256 of the record's id: a record sent twice (the
    /// spool retrying a batch) is the same span, which collectors and backends that dedupe take once, and ids
    /// of different records look random, as trace-id-ratio samplers expect. Never all-zero (invalid in OTLP).
    static func ids(exchangeID: String, headers: [String: JSONTree]?) -> (trace: [UInt8], span: [UInt8], parent: [UInt8]?) {
        var digest = [UInt8](repeating: 0, count: 32)
        let text = Array(exchangeID.utf8)
        text.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { out in
                _ = SHA256(input.baseAddress, input.count, out.baseAddress)
            }
        }
        var trace = Array(digest[0..<16])
        var span = Array(digest[16..<24])
        if trace.allSatisfy({ $0 == 0 }) { trace[15] = 1 }
        if span.allSatisfy({ $0 == 0 }) { span[7] = 1 }
        if let header = headers?["traceparent"]?.string, let parent = TraceParent(header) {
            return (parent.traceID, span, parent.spanID)
        }
        return (trace, span, nil)
    }

    /// W3C Trace Context `traceparent`: `version-traceid-parentid-flags` in lower-case hex
    /// (https://www.w3.org/TR/trace-context/#traceparent-header).
    struct TraceParent {
        let traceID: [UInt8]
        let spanID: [UInt8]

        init?(_ header: String) {
            let fields = header.trimmingSpaces.split(separator: "-", omittingEmptySubsequences: false)
            // Version 00 has exactly four fields; a later version may append more, ff is invalid.
            guard fields.count >= 4, fields[0].count == 2, fields[0] != "ff", fields[0] != "00" || fields.count == 4,
                  let version = Self.hex(fields[0]), version.count == 1,
                  let trace = Self.hex(fields[1]), trace.count == 16, let span = Self.hex(fields[2]), span.count == 8,
                  let flags = Self.hex(fields[3]), flags.count == 1,
                  trace.contains(where: { $0 != 0 }), span.contains(where: { $0 != 0 }) else { return nil }
            traceID = trace
            spanID = span
        }

        private static func hex(_ text: Substring) -> [UInt8]? {
            let digits = Array(text.utf8)
            guard digits.count % 2 == 0 else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(digits.count / 2)
            var index = 0
            while index < digits.count {
                guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
                out.append(high << 4 | low)
                index += 2
            }
            return out
        }

        /// Lower case only, as the header's grammar says.
        private static func nibble(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            default: nil
            }
        }
    }

    // MARK: Where the exchange went

    /// By the path's end, so a route with a prefix (`/anthropic/v1/messages`) is still recognised; the query is
    /// not part of it. `/v1/messages/count_tokens` and the like are not the message APIs.
    static func api(path: String) -> API? {
        let bare = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        if bare.hasSuffix("/v1/messages") { return .anthropicMessages }
        if bare.hasSuffix("/chat/completions") { return .openAIChat }
        if bare.hasSuffix("/v1/responses") { return .openAIResponses }
        return nil
    }

    /// server.address and server.port from the upstream URL (`http://127.0.0.1:9100`, `https://[::1]`, with or
    /// without a path): the port is the scheme's when not written, since the conventions require it beside the
    /// address. Nil for "" (a request refused before routing).
    static func server(_ url: String) -> (address: String, port: Int)? {
        guard let schemeEnd = url.firstRange(of: "://") else { return nil }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var authority = url[schemeEnd.upperBound...]
        if let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { authority = authority[..<end] }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let defaultPort = scheme == "https" ? 443 : 80
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { return nil }
        if let portText, !portText.isEmpty {
            guard let port = Int(portText), (1...65535).contains(port) else { return nil }
            return (String(host), port)
        }
        return (String(host), defaultPort)
    }

}

/// What the request asked for, from its top-level members only (TopLevelScanner): a request body is often the
/// largest thing in a record (a whole conversation), and none of these needs its messages parsed.
struct RequestFacts {
    var model: String?
    var stream = false
    var maxTokens: Int?
    var temperature: Double?
    var topP: Double?

    init() {}

    init(body: String) {
        var text = body
        text.withUTF8 { buffer in
            let data = UnsafeRawBufferPointer(buffer)
            guard let members = TopLevelScanner.members(data) else { return }
            for member in members {
                let key = member.key
                if TopLevelScanner.isKey(key, "model") {
                    model = TopLevelScanner.string(data, member.value).flatMap { $0.isEmpty ? nil : $0 }
                } else if TopLevelScanner.isKey(key, "stream") {
                    stream = Self.literal(data, member.value) == "true"
                } else if TopLevelScanner.isKey(key, "max_tokens") || TopLevelScanner.isKey(key, "max_completion_tokens")
                            || TopLevelScanner.isKey(key, "max_output_tokens") {
                    maxTokens = Self.number(data, member.value).flatMap { Int(exactly: $0) } ?? maxTokens
                } else if TopLevelScanner.isKey(key, "temperature") {
                    temperature = Self.number(data, member.value)
                } else if TopLevelScanner.isKey(key, "top_p") {
                    topP = Self.number(data, member.value)
                }
            }
        }
    }

    private static func literal(_ data: UnsafeRawBufferPointer, _ value: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: data[value]), as: UTF8.self)
    }

    /// A JSON number; nil for null, strings and the words Double(String) would take ("nan", "inf").
    private static func number(_ data: UnsafeRawBufferPointer, _ value: Range<Int>) -> Double? {
        guard let first = value.first.map({ data[$0] }),
              first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return nil }
        return Double(literal(data, value)).flatMap { $0.isFinite ? $0 : nil }
    }
}

/// What the answer says about itself, read without parsing its text: the response id, which API's shape it
/// has (when the path did not say), and for an error answer the provider's error code and message.
struct AnswerFacts {
    var id: String?
    var api: ExchangeSpan.API?
    var errorType: String?
    var errorMessage: String?

    init() {}

    init(body: String, isStream: Bool) {
        if isStream {
            readStream(body)
        } else {
            readJSON(body)
        }
    }

    /// The id is in the first event of each API's stream (Anthropic message_start's message.id, every OpenAI
    /// chat chunk's id, the Responses API's response.created): only the first few `data:` lines are parsed.
    private mutating func readStream(_ body: String) {
        var text = body
        text.withUTF8 { bytes in
            var lineStart = 0
            var dataLines = 0
            while lineStart < bytes.count, dataLines < 8, id == nil {
                var lineEnd = lineStart
                while lineEnd < bytes.count, bytes[lineEnd] != 0x0a { lineEnd += 1 }
                var line = bytes[lineStart..<lineEnd]
                if line.last == 0x0d { line = line.dropLast() }
                lineStart = lineEnd + 1
                guard line.starts(with: "data:".utf8) else { continue }
                dataLines += 1
                guard let event = JSONTree(parsing: line.dropFirst(5))?.object else { continue }
                read(event: event)
            }
        }
    }

    private mutating func read(event: [String: JSONTree]) {
        switch event["type"]?.string {
        case "message_start":
            api = .anthropicMessages
            id = event["message"]?["id"]?.nonEmptyString
        case let type? where type.hasPrefix("response."):
            api = .openAIResponses
            id = event["response"]?["id"]?.nonEmptyString
        default:
            // A chat.completion or chat.completion.chunk (they have no "type" field to dispatch on).
            let isChat = event["object"]?.string.map { $0.hasPrefix("chat.completion") } ?? (event["choices"]?.array != nil)
            if isChat {
                api = .openAIChat
                id = event["id"]?.nonEmptyString
            }
        }
    }

    private mutating func readJSON(_ body: String) {
        var text = body
        text.withUTF8 { buffer in
            let data = UnsafeRawBufferPointer(buffer)
            guard let members = TopLevelScanner.members(data) else { return }
            for member in members {
                if TopLevelScanner.isKey(member.key, "id") {
                    id = TopLevelScanner.string(data, member.value).flatMap { $0.isEmpty ? nil : $0 }
                } else if TopLevelScanner.isKey(member.key, "type") {
                    if TopLevelScanner.string(data, member.value) == "message" { api = .anthropicMessages }
                } else if TopLevelScanner.isKey(member.key, "object") {
                    let object = TopLevelScanner.string(data, member.value) ?? ""
                    if object.hasPrefix("chat.completion") { api = .openAIChat }
                    if object == "response" { api = .openAIResponses }
                } else if TopLevelScanner.isKey(member.key, "error") {
                    // Anthropic {"type":"error","error":{"type":"overloaded_error",...}}; OpenAI
                    // {"error":{"type":"invalid_request_error","code":"context_length_exceeded",...}}: the code,
                    // when there is one, is the finer of the two.
                    guard let error = JSONTree(parsing: UnsafeRawBufferPointer(rebasing: data[member.value])),
                          error.object != nil else { continue }
                    errorType = error["code"]?.nonEmptyString ?? error["type"]?.nonEmptyString
                    errorMessage = error["message"]?.nonEmptyString
                }
            }
        }
    }
}
