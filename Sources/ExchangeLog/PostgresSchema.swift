// The PostgreSQL store's tables and how a database reaches the current version: kgb_schema_version holds the
// versions applied, each migration runs once, in one transaction, under an advisory lock, so several kgb instances
// starting at once against one database migrate it once between them. Migrations are never edited once released:
// a change to the table is a new migration.

package enum PostgresSchema {
    /// Taken with pg_advisory_xact_lock around a migration (released at commit or rollback). Any constant would do;
    /// this one spells "kgb-mig" and is unlikely to collide with another application's lock on the same database.
    static let migrationLock: Int64 = 0x006b_6762_2d6d_6967

    /// `migrations[n - 1]` takes a database from version n - 1 to n.
    static let migrations: [String] = [
        // 1: the table, its indexes. `seq` is the order rows arrived in, which is not the order of started_at (a
        // long stream is recorded when it ends, the spool delivers late after an outage): `kgb tail` follows it.
        """
        CREATE TABLE kgb_exchanges (
            id            text PRIMARY KEY,
            seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            started_at    timestamptz NOT NULL,
            method        text,
            path          text,
            upstream      text,
            status        integer,
            outcome       text,
            model         text,
            input_tokens  bigint,
            output_tokens bigint,
            total_ms      double precision,
            ttfb_ms       double precision,
            cost_usd      numeric,
            agent         text,
            record        jsonb NOT NULL
        );
        CREATE INDEX kgb_exchanges_started_at ON kgb_exchanges (started_at);
        CREATE INDEX kgb_exchanges_model ON kgb_exchanges (model, started_at);
        CREATE INDEX kgb_exchanges_outcome ON kgb_exchanges (outcome, started_at);
        CREATE INDEX kgb_exchanges_agent ON kgb_exchanges (agent, started_at);
        """,
        // 2: what `kgb ui` filters on besides: the session, the first token's time; indexes for each filter.
        """
        ALTER TABLE kgb_exchanges ADD COLUMN session text, ADD COLUMN first_token_ms double precision;
        UPDATE kgb_exchanges SET session = \(text("record->'agent'->'session'")),
                                 first_token_ms = \(double("record->'timing'->'first_token_ms'"));
        CREATE INDEX kgb_exchanges_session ON kgb_exchanges (session, started_at);
        CREATE INDEX kgb_exchanges_status ON kgb_exchanges (status, started_at);
        CREATE INDEX kgb_exchanges_upstream ON kgb_exchanges (upstream, started_at);
        """,
    ]

    static var version: Int { migrations.count }

    /// Brings the database to `version`; a no-op (one lock, one read) when it is there. Needs the right to create
    /// tables only while there is something to create: a role with INSERT and SELECT writes to a database that an
    /// administrator migrated.
    package static func migrate(_ connection: PostgresConnection) throws(PostgresFailure) {
        try connection.execute("BEGIN")
        do throws(PostgresFailure) {
            try connection.execute("SELECT pg_advisory_xact_lock($1)", [Array(String(migrationLock).utf8)])
            var current = 0
            if try connection.execute("SELECT to_regclass('kgb_schema_version') IS NOT NULL").first?.first == "t" {
                let value = try connection.execute("SELECT coalesce(max(version), 0) FROM kgb_schema_version").first?.first
                current = (value ?? nil).flatMap { Int($0) } ?? 0
            } else {
                try connection.execute("""
                    CREATE TABLE kgb_schema_version (
                        version    integer PRIMARY KEY,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """)
            }
            if current > version {
                throw PostgresFailure(sqlState: nil, message: "the database is at schema version \(current), newer than "
                                      + "this kgb's (\(version)): upgrade kgb; records wait in the spool meanwhile")
            }
            for applied in current..<version {
                try connection.execute(migrations[applied])
                try connection.execute("INSERT INTO kgb_schema_version (version) VALUES ($1)", [Array(String(applied + 1).utf8)])
            }
            try connection.execute("COMMIT")
        } catch {
            // A lost connection cannot roll back, nor needs to: the server aborts the transaction.
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// The columns an insert fills, each computed by PostgreSQL from the record (`r`, the jsonb parameter): kgb sends
    /// the record alone, so its delivery thread parses nothing (reading each record for its columns in Swift was most
    /// of that thread's time). A member that is absent, null, of another type than its column's, or a number that
    /// does not fit the column is NULL; the record keeps it as it was.
    static let insertColumns: [(name: String, expression: String)] = [
        ("id", "r->>'id'"),
        ("started_at", "(r->>'started_at')::timestamptz"),
        ("method", text("r->'method'")), ("path", text("r->'path'")), ("upstream", text("r->'upstream'")),
        ("status", integer("r->'response'->'status'", bound: "2147483647", type: "integer")),
        ("outcome", text("r->'outcome'")), ("model", text("r->'usage'->'model'")),
        ("input_tokens", integer("r->'usage'->'input_tokens'", bound: "9223372036854775807", type: "bigint")),
        ("output_tokens", integer("r->'usage'->'output_tokens'", bound: "9223372036854775807", type: "bigint")),
        ("total_ms", double("r->'timing'->'total_ms'")), ("ttfb_ms", double("r->'timing'->'ttfb_ms'")),
        ("cost_usd", "CASE WHEN jsonb_typeof(r->'cost_usd') = 'number' THEN (r->'cost_usd')::numeric END"),
        ("agent", text("r->'agent'->'name'")), ("session", text("r->'agent'->'session'")),
        ("first_token_ms", double("r->'timing'->'first_token_ms'")),
        ("record", "r"),
    ]

    private static func text(_ value: String) -> String {
        "CASE WHEN jsonb_typeof(\(value)) = 'string' THEN \(value) #>> '{}' END"
    }

    /// Integral ("12" and "12.0" alike) and within the column's range.
    private static func integer(_ value: String, bound: String, type: String) -> String {
        "CASE WHEN jsonb_typeof(\(value)) = 'number' AND (\(value))::numeric = trunc((\(value))::numeric) "
            + "AND abs((\(value))::numeric) <= \(bound) THEN (\(value))::numeric::\(type) END"
    }

    /// Within double precision's range (not 1e400).
    private static func double(_ value: String) -> String {
        "CASE WHEN jsonb_typeof(\(value)) = 'number' AND abs((\(value))::numeric) <= 1.7976931348623157e308 "
            + "THEN (\(value))::numeric::double precision END"
    }

    /// One statement for `rows` records, each a jsonb parameter: placeholders only, never a value in the text. A
    /// row whose id is already stored is skipped, so a batch sent again (the spool replays after a failure) adds
    /// nothing.
    static func insert(rows: Int) -> String {
        let names = insertColumns.map(\.name).joined(separator: ", ")
        let expressions = insertColumns.map(\.expression).joined(separator: ", ")
        let values = (1...max(1, rows)).map { "($\($0)::jsonb)" }.joined(separator: ", ")
        return "INSERT INTO kgb_exchanges (\(names)) SELECT \(expressions) FROM (VALUES \(values)) AS v(r) "
            + "ON CONFLICT (id) DO NOTHING"
    }
}
