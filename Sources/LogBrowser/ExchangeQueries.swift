// What each page asks the store, as SQL both stores answer, and the JSON the page reads. Runs on a pool thread,
// holding the store's lock for one answer.

struct ExchangeQueries {
    let store: any BrowseStore
    var dialect: SQLDialect { store.dialect }

    static let pageSize = 50
    /// A free-text search reads the newest records in windows of this many until the page is full or its time is
    /// up, then says how far back it looked: it answers in bounded time however large the store.
    static let searchWindow = 2_000
    static let searchBudgetSeconds = 0.25

    // MARK: the list

    private static let listColumns: [(name: StaticString, sql: @Sendable (SQLDialect) -> String, kind: JSONText.Kind)] = [
        ("id", { _ in "id" }, .string), ("started_at", { $0.startedAt }, .string),
        ("agent", { _ in "agent" }, .string), ("session", { _ in "session" }, .string),
        ("model", { _ in "model" }, .string), ("status", { _ in "status" }, .number),
        ("outcome", { _ in "outcome" }, .string), ("method", { _ in "method" }, .string),
        ("path", { _ in "path" }, .string), ("upstream", { _ in "upstream" }, .string),
        ("input_tokens", { _ in "input_tokens" }, .number), ("output_tokens", { _ in "output_tokens" }, .number),
        ("cost_usd", { _ in "cost_usd" }, .number), ("ttfb_ms", { _ in "ttfb_ms" }, .number),
        ("first_token_ms", { _ in "first_token_ms" }, .number), ("total_ms", { _ in "total_ms" }, .number),
        ("error", { $0.member("error") }, .string),
    ]

    /// Newest first, a page at a time: {"columns": [...], "rows": [[...]], "next": the cursor of the next page or
    /// null, "searched_to": how far back a text search cut short by its budget looked, or null}.
    func exchanges(_ filter: ExchangeFilter, budgetSeconds: Double = searchBudgetSeconds) throws(BrowseError) -> [UInt8] {
        store.catchUp()
        var rows: [[String?]]
        var resumeAt: (startedAt: String, id: String)?
        if filter.text == nil {
            rows = try page(filter, limit: Self.pageSize + 1)
        } else {
            (rows, resumeAt) = try search(filter, budgetSeconds: budgetSeconds)
        }
        if rows.count > Self.pageSize {
            rows.removeLast(rows.count - Self.pageSize)
            resumeAt = (rows.last![1] ?? "", rows.last![0] ?? "")
        }
        var json = JSONText()
        json.raw("{\"columns\":[")
        for (index, column) in Self.listColumns.enumerated() {
            if index > 0 { json.raw(",") }
            json.string(column.name.description)
        }
        json.raw("]")
        json.key("rows")
        json.rows(rows, kinds: Self.listColumns.map(\.kind))
        json.key("next")
        json.value(resumeAt.map { "\($0.startedAt)|\($0.id)" }, as: .string)
        json.key("searched_to")
        json.value(filter.text != nil && rows.count < Self.pageSize ? resumeAt?.startedAt : nil, as: .string)
        json.raw("}")
        return json.bytes
    }

    private func page(_ filter: ExchangeFilter, limit: Int) throws(BrowseError) -> [[String?]] {
        let (conditions, parameters) = filter.whereClause(dialect)
        let columns = Self.listColumns.map { $0.sql(dialect) }.joined(separator: ", ")
        return try store.rows("""
            SELECT \(columns) FROM \(dialect.table) WHERE \(conditions)
            ORDER BY started_at DESC, id DESC LIMIT \(limit)
            """, parameters)
    }

    /// Window by window back in time: each window is the next `searchWindow` rows the other filters let through
    /// (found on an index), then those rows' records searched. Stops when the page is full (one more row than a
    /// page: there are more), when the store is exhausted (nil), or when the budget is spent: then the next page
    /// resumes below the last window searched.
    private func search(_ filter: ExchangeFilter, budgetSeconds: Double) throws(BrowseError)
        -> ([[String?]], resumeAt: (startedAt: String, id: String)?) {
        let deadline = ISOTime.monotonic() + budgetSeconds
        var window = filter
        var found: [[String?]] = []
        while true {
            let (conditions, parameters) = window.whereClause(dialect, includingText: false)
            let edge = try store.rows("""
                SELECT \(dialect.startedAt), id FROM \(dialect.table) WHERE \(conditions)
                ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET \(Self.searchWindow - 1)
                """, parameters).first
            guard let edge, let time = edge[0], let id = edge[1] else {
                // Less than a window left: the rest in one go.
                return (found + (try page(window, limit: Self.pageSize + 1 - found.count)), nil)
            }
            window.notBefore = (time, id)
            found += try page(window, limit: Self.pageSize + 1 - found.count)
            if found.count > Self.pageSize { return (found, nil) }
            window.notBefore = nil
            window.before = (time, id)
            if ISOTime.monotonic() > deadline { return (found, (time, id)) }
        }
    }

    // MARK: one exchange, one session

    /// {"record": the stored record} or nil when there is none with this id.
    func exchange(id: String) throws(BrowseError) -> [UInt8]? {
        store.catchUp()
        let rows = try store.rows("SELECT \(dialect.record) FROM \(dialect.table) WHERE id = \(dialect.parameter(1))", [id])
        guard let record = rows.first?[0] else { return nil }
        var json = JSONText()
        json.raw("{\"record\":")
        json.value(record, as: .json)
        json.raw("}")
        return json.bytes
    }

    static let sessionLimit = 1_000

    /// The session's exchanges in the order they started: {"records": [...], "truncated": more than the limit}.
    func session(id: String) throws(BrowseError) -> [UInt8] {
        store.catchUp()
        let rows = try store.rows("""
            SELECT \(dialect.record) FROM \(dialect.table) WHERE session = \(dialect.parameter(1))
            ORDER BY started_at, id LIMIT \(Self.sessionLimit + 1)
            """, [id])
        var json = JSONText()
        json.raw("{\"records\":[")
        for (index, row) in rows.prefix(Self.sessionLimit).enumerated() {
            if index > 0 { json.raw(",") }
            json.value(row[0], as: .json)
        }
        json.raw("]")
        json.key("truncated")
        json.raw(rows.count > Self.sessionLimit ? "true" : "false")
        json.raw("}")
        return json.bytes
    }

    // MARK: the overview

    /// Sums per time bucket, agent, model and outcome in one pass (failed: not complete, or an error status), from
    /// which the page draws its per-agent and per-model charts and tables; latency percentiles per bucket and over the
    /// range. All aggregated by the store, over the covering index: the page gets a few hundred numbers, never records.
    func overview(from: String, to: String, bucket: BucketSize) throws(BrowseError) -> [UInt8] {
        store.catchUp()
        let range = "started_at >= \(dialect.parameter(1, as: .time)) AND started_at < \(dialect.parameter(2, as: .time))"
        let bucketed = dialect.bucket(bucket)
        let sums = try store.rows("""
            SELECT \(bucketed), agent, model, outcome, count(*), sum(input_tokens), sum(output_tokens), sum(cost_usd),
                   sum(CASE WHEN outcome = 'complete' AND coalesce(status, 0) < 400 THEN 0 ELSE 1 END)
            FROM \(dialect.table) \(dialect.coveringIndex) WHERE \(range) GROUP BY 1, 2, 3, 4 ORDER BY 1
            """, [from, to])
        let percentiles = ["ttfb_ms", "first_token_ms", "total_ms"].flatMap { column in
            [0.5, 0.9, 0.99].map { dialect.percentile(column, $0) }
        }.joined(separator: ", ")
        let latency = try store.rows("""
            SELECT \(bucketed), count(*), \(percentiles) FROM \(dialect.table) \(dialect.coveringIndex)
            WHERE \(range) GROUP BY 1 ORDER BY 1
            """, [from, to])
        let overall = try store.rows("""
            SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cost_usd), \(percentiles)
            FROM \(dialect.table) \(dialect.coveringIndex) WHERE \(range)
            """, [from, to])
        var json = JSONText()
        json.raw("{")
        json.key("from", first: true)
        json.string(from)
        json.key("to")
        json.string(to)
        json.key("bucket")
        json.string(bucket.rawValue)
        json.key("sums")
        json.rows(sums, kinds: [.string, .string, .string, .string, .number, .number, .number, .number, .number])
        json.key("latency")
        json.rows(latency, kinds: [.string] + Array(repeating: .number, count: 10))
        json.key("overall")
        json.rows(overall, kinds: Array(repeating: .number, count: 13))
        json.raw("}")
        return json.bytes
    }

    // MARK: the filters' choices, and arrivals

    /// The values seen in the columns whose filters suggest them: {"agents": [...], "models": [...], "upstreams": [...]}
    /// (outcomes are a fixed set, the record contract's).
    func facets() throws(BrowseError) -> [UInt8] {
        store.catchUp()
        var json = JSONText()
        json.raw("{")
        for (index, (name, column)) in [("agents", "agent"), ("models", "model"), ("upstreams", "upstream")].enumerated() {
            if index > 0 { json.raw(",") }
            json.string(name)
            json.raw(":")
            let values = try store.rows("""
                SELECT DISTINCT \(column) FROM \(dialect.table) WHERE \(column) IS NOT NULL ORDER BY 1 LIMIT 500
                """, [])
            json.rows(values, kinds: [.string])
        }
        json.raw("}")
        return json.bytes
    }

    /// Grows whenever a record arrives.
    func arrivalMark() throws(BrowseError) -> String {
        store.catchUp()
        return try store.rows(dialect.arrivalMark, []).first?[0] ?? "0"
    }
}
