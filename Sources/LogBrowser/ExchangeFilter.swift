// The list page's filters, read from its query string, checked, and turned into a WHERE clause whose values are
// all parameters (never spliced into the SQL). An empty field is no filter.

struct ExchangeFilter {
    var agent: String?
    var session: String?
    var model: String?
    var outcome: String?
    var upstream: String?
    /// One status (429) or a class (5xx).
    var status: ClosedRange<Int>?
    var from: String?
    var to: String?
    /// Free text searched for in the records (bodies included).
    var text: String?
    /// The page ends before this exchange (newest first): its started_at and id.
    var before: (startedAt: String, id: String)?
    /// And goes no further back than this one (a text search's window).
    var notBefore: (startedAt: String, id: String)?

    init() {}

    init(_ target: RequestTarget) throws(BrowseError) {
        agent = target["agent"]
        session = target["session"]
        model = target["model"]
        outcome = target["outcome"]
        upstream = target["upstream"]
        text = target["q"]
        if let status = target["status"] {
            if status.count == 3, status.hasSuffix("xx"), let digit = Int(status.prefix(1)), (1...5).contains(digit) {
                self.status = digit * 100...digit * 100 + 99
            } else if let value = Int(status), (100...599).contains(value) {
                self.status = value...value
            } else {
                throw BrowseError("status: \(status) is neither a status (429) nor a class (5xx)", isInput: true)
            }
        }
        from = try Self.time(target, "from")
        to = try Self.time(target, "to")
        if let before = target["before"] {
            let parts = before.split(separator: "|", maxSplits: 1)
            guard parts.count == 2, let time = ISOTime.seconds(String(parts[0])) else {
                throw BrowseError("before: \(before) is not a page cursor", isInput: true)
            }
            self.before = (ISOTime.text(time), String(parts[1]))
        }
    }

    /// A time in the record's own spelling, so SQLite compares texts in time order.
    static func time(_ target: RequestTarget, _ name: String) throws(BrowseError) -> String? {
        guard let value = target[name] else { return nil }
        guard let seconds = ISOTime.seconds(value) else {
            throw BrowseError("\(name): \(value) is not a UTC time such as 2026-11-25T12:34:56Z", isInput: true)
        }
        return ISOTime.text(seconds)
    }

    /// The conditions (joined by AND; "1 = 1" when none) and their parameters, numbered from `first`.
    func whereClause(_ dialect: SQLDialect, includingText: Bool = true) -> (sql: String, parameters: [String?]) {
        var conditions: [String] = []
        var parameters: [String?] = []
        func add(_ value: String, _ type: SQLDialect.ParameterType = .text, _ condition: (String) -> String) {
            parameters.append(value)
            conditions.append(condition(dialect.parameter(parameters.count, as: type)))
        }
        if let agent { add(agent) { "agent = \($0)" } }
        if let session { add(session) { "session = \($0)" } }
        if let model { add(model) { "model = \($0)" } }
        if let outcome { add(outcome) { "outcome = \($0)" } }
        if let upstream { add(upstream) { "upstream = \($0)" } }
        if let status {
            add(String(status.lowerBound), .integer) { "status >= \($0)" }
            add(String(status.upperBound), .integer) { "status <= \($0)" }
        }
        if let from { add(from, .time) { "started_at >= \($0)" } }
        if let to { add(to, .time) { "started_at < \($0)" } }
        /// A bound on the list's order, (started_at, id), compared as one row value.
        func key(_ key: (startedAt: String, id: String), _ comparison: String) {
            parameters += [key.startedAt, key.id]
            let time = dialect.parameter(parameters.count - 1, as: .time), id = dialect.parameter(parameters.count)
            conditions.append("(started_at, id) \(comparison) (\(time), \(id))")
        }
        if let before { key(before, "<") }
        if let notBefore { key(notBefore, ">=") }
        if includingText, let text { add(Self.asInRecord(text)) { dialect.recordContains($0) } }
        return (conditions.isEmpty ? "1 = 1" : conditions.joined(separator: " AND "), parameters)
    }

    /// Text as it appears inside a record's JSON strings: a quote, a backslash or a newline escaped as the record
    /// escapes them, so a search for `say "hi"` finds it.
    static func asInRecord(_ text: String) -> String {
        var json = JSONText()
        json.string(text)
        return String(decoding: json.bytes.dropFirst().dropLast(), as: UTF8.self)
    }
}
