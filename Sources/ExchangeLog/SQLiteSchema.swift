// The SQLite store's table, how a file reaches the current version, and the one INSERT that fills it. Shared by
// the sink (which writes) and `kgb ui` (which reads a file, or loads a JSONL log into memory with the same table).
// The version lives in PRAGMA user_version; each step runs once, in one transaction.
internal import CSQLite

public enum SQLiteSchema {
    public static let version: Int32 = 2

    /// The columns `kgb ui` filters and aggregates on, each read from the record by the INSERT (never by Swift), and
    /// the record last, so a row's small columns sit before its long text. Version 1 had only the first five.
    static let columns: [(name: String, type: String, path: String?)] = [
        ("id", "TEXT PRIMARY KEY", "$.id"),
        ("started_at", "TEXT NOT NULL", "$.started_at"),
        ("model", "TEXT", "$.usage.model"),
        ("outcome", "TEXT NOT NULL", "$.outcome"),
        ("status", "INTEGER", "$.response.status"),
        ("agent", "TEXT", "$.agent.name"),
        ("session", "TEXT", "$.agent.session"),
        ("method", "TEXT", "$.method"),
        ("path", "TEXT", "$.path"),
        ("upstream", "TEXT", "$.upstream"),
        ("input_tokens", "INTEGER", "$.usage.input_tokens"),
        ("output_tokens", "INTEGER", "$.usage.output_tokens"),
        ("cost_usd", "REAL", "$.cost_usd"),
        ("ttfb_ms", "REAL", "$.timing.ttfb_ms"),
        ("first_token_ms", "REAL", "$.timing.first_token_ms"),
        ("total_ms", "REAL", "$.timing.total_ms"),
        ("record", "TEXT NOT NULL", nil),
    ]

    private static let createTable = """
        CREATE TABLE exchanges (
        \(columns.map { "    \($0.name) \($0.type)" }.joined(separator: ",\n"))
        );
        """

    /// Each filter of `kgb ui` has an index that ends in (started_at, id), the list's order, so "newest first" reads
    /// an index in order and never sorts. The first one also carries every column the overview sums, so its charts
    /// read the index and never the records.
    private static let createIndexes = """
        CREATE INDEX exchanges_started_at ON exchanges(started_at, id, agent, model, status, outcome, input_tokens,
            output_tokens, cost_usd, ttfb_ms, first_token_ms, total_ms);
        CREATE INDEX exchanges_model ON exchanges(model, started_at, id);
        CREATE INDEX exchanges_outcome ON exchanges(outcome, started_at, id);
        CREATE INDEX exchanges_status ON exchanges(status, started_at, id);
        CREATE INDEX exchanges_agent ON exchanges(agent, started_at, id);
        CREATE INDEX exchanges_session ON exchanges(session, started_at, id);
        CREATE INDEX exchanges_upstream ON exchanges(upstream, started_at, id);
        """

    private static let names = columns.map(\.name).joined(separator: ", ")

    /// Every column's value, read from `record` (an SQL expression holding a record's text).
    private static func values(from record: String) -> String {
        columns.map { $0.path.map { "json_extract(\(record), '\($0)')" } ?? record }.joined(separator: ", ")
    }

    /// `?1` is the record's text. A row with an id already stored is replaced (the same record written twice).
    public static let insert = "INSERT OR REPLACE INTO exchanges (\(names)) VALUES (\(values(from: "?1")))"

    /// Brings the open database to `version`: a new file gets the table; a version 1 file is rebuilt with the new
    /// columns read from its records (seconds for 100,000 rows, once). A newer file than this kgb knows is an error.
    public static func migrate(_ db: OpaquePointer, path: String) throws(SinkError) {
        let current = try userVersion(db, path: path)
        if current > version {
            throw SinkError("\(path) has schema version \(current), newer than this kgb (\(version))")
        }
        guard current < version else { return }
        let rebuild = current == 0 ? "" : """
            ALTER TABLE exchanges RENAME TO exchanges_v\(current);
            DROP INDEX IF EXISTS exchanges_started_at;
            DROP INDEX IF EXISTS exchanges_model;
            DROP INDEX IF EXISTS exchanges_outcome;
            DROP INDEX IF EXISTS exchanges_status;
            """
        let copy = current == 0 ? "" : """
            INSERT INTO exchanges (\(names)) SELECT \(values(from: "record")) FROM exchanges_v\(current);
            DROP TABLE exchanges_v\(current);
            """
        try execute(db, path: path, """
            BEGIN IMMEDIATE;
            \(rebuild)
            \(createTable)
            \(copy)
            \(createIndexes)
            PRAGMA user_version = \(version);
            COMMIT;
            """)
    }

    private static func userVersion(_ db: OpaquePointer, path: String) throws(SinkError) -> Int32 {
        var statement: OpaquePointer?
        defer { sqlite3_finalize(statement) }
        guard sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &statement, nil) == SQLITE_OK,
              sqlite3_step(statement) == SQLITE_ROW else {
            throw SinkError("\(path): \(String(cString: sqlite3_errmsg(db)))")
        }
        return sqlite3_column_int(statement, 0)
    }

    static func execute(_ db: OpaquePointer, path: String, _ sql: String) throws(SinkError) {
        var error: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &error) != SQLITE_OK {
            let text = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(error)
            _ = sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
            throw SinkError("\(path): \(text)")
        }
    }
}
