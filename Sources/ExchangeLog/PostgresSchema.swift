// The PostgreSQL store's tables and how a database reaches the current version: kgb_schema_version holds the
// versions applied, each migration runs once, in one transaction, under an advisory lock, so several kgb instances
// starting at once against one database migrate it once between them. Migrations are never edited once released:
// a change to the table is a new migration.

enum PostgresSchema {
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
    ]

    static var version: Int { migrations.count }

    /// Brings the database to `version`; a no-op (one lock, one read) when it is there. Needs the right to create
    /// tables only while there is something to create: a role with INSERT and SELECT writes to a database that an
    /// administrator migrated.
    static func migrate(_ connection: PostgresConnection) throws(PostgresFailure) {
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

    /// The columns an insert fills, each with the cast its text parameter needs.
    static let insertColumns: [(name: String, cast: String)] = [
        ("id", ""), ("started_at", "::timestamptz"), ("method", ""), ("path", ""), ("upstream", ""),
        ("status", "::integer"), ("outcome", ""), ("model", ""), ("input_tokens", "::bigint"),
        ("output_tokens", "::bigint"), ("total_ms", "::double precision"), ("ttfb_ms", "::double precision"),
        ("cost_usd", "::numeric"), ("agent", ""), ("record", "::jsonb"),
    ]

    /// One statement for `rows` rows: placeholders only, never a value in the text. A row whose id is already
    /// stored is skipped, so a batch sent again (the spool replays after a failure) adds nothing.
    static func insert(rows: Int) -> String {
        let names = insertColumns.map(\.name).joined(separator: ", ")
        let tuples = (0..<rows).map { row in
            "(" + insertColumns.enumerated().map { "$\(row * insertColumns.count + $0.offset + 1)\($0.element.cast)" }
                .joined(separator: ", ") + ")"
        }
        return "INSERT INTO kgb_exchanges (\(names)) VALUES " + tuples.joined(separator: ", ")
            + " ON CONFLICT (id) DO NOTHING"
    }
}
