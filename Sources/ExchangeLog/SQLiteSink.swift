// An embedded, queryable store: one row per exchange in SQLite (WAL mode, one transaction per batch), with
// indexed columns for the questions users ask most and the full record as JSON. Logger thread only.
internal import CSQLite
import Foundation

public final class SQLiteSink: LogSink {
    public let path: String
    private var db: OpaquePointer?
    private var insert: OpaquePointer?
    public var name: String { "sqlite:\(path)" }
    /// Bump with a migration step in `migrate` whenever the table changes.
    static let schemaVersion: Int32 = 1

    public init(path: String) throws {
        self.path = path
        try open()
    }

    private func open() throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
            let reason = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            close()
            throw SinkError("cannot open \(path): \(reason)")
        }
        sqlite3_busy_timeout(db, 5_000)  // several kgb instances may share one file
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=NORMAL")
        try migrate()
        guard sqlite3_prepare_v2(db, """
            INSERT OR REPLACE INTO exchanges (id, started_at, model, outcome, status, record)
            VALUES (?1, json_extract(?2, '$.started_at'), json_extract(?2, '$.usage.model'),
                    json_extract(?2, '$.outcome'), json_extract(?2, '$.response.status'), ?2)
            """, -1, &insert, nil) == SQLITE_OK else {
            throw SinkError("preparing the insert in \(path) failed: \(message)")
        }
    }

    /// Version 0 (a new file) → 1: the table and its indexes.
    private func migrate() throws {
        var version: Int32 = 0
        var statement: OpaquePointer?
        if sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &statement, nil) == SQLITE_OK, sqlite3_step(statement) == SQLITE_ROW {
            version = sqlite3_column_int(statement, 0)
        }
        sqlite3_finalize(statement)
        if version > SQLiteSink.schemaVersion {
            throw SinkError("\(path) has schema version \(version), newer than this kgb (\(SQLiteSink.schemaVersion))")
        }
        if version < 1 {
            try exec("""
                BEGIN;
                CREATE TABLE IF NOT EXISTS exchanges (
                    id TEXT PRIMARY KEY,
                    started_at TEXT NOT NULL,
                    model TEXT,
                    outcome TEXT NOT NULL,
                    status INTEGER,
                    record TEXT NOT NULL
                );
                CREATE INDEX IF NOT EXISTS exchanges_started_at ON exchanges(started_at);
                CREATE INDEX IF NOT EXISTS exchanges_model ON exchanges(model);
                CREATE INDEX IF NOT EXISTS exchanges_outcome ON exchanges(outcome);
                CREATE INDEX IF NOT EXISTS exchanges_status ON exchanges(status);
                PRAGMA user_version = 1;
                COMMIT;
                """)
        }
    }

    private var message: String { db.map { String(cString: sqlite3_errmsg($0)) } ?? "closed" }

    private func exec(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &error) != SQLITE_OK {
            let text = error.map { String(cString: $0) } ?? message
            sqlite3_free(error)
            throw SinkError("\(path): \(text)")
        }
    }

    /// One transaction per batch: the logger hands over everything that finished since its last wake-up.
    public func write(_ lines: [UInt8]) throws {
        if db == nil { try open() }
        try exec("BEGIN")
        var start = 0
        do {
            try lines.withUnsafeBytes { all in
                for index in all.indices where all[index] == 0x0a {
                    let line = UnsafeRawBufferPointer(rebasing: all[start..<index])
                    start = index + 1
                    try insertLine(line)
                }
            }
            try exec("COMMIT")
        } catch {
            // The transaction rolls back whole: none of the batch's records is in the file.
            try? exec("ROLLBACK")
            throw error
        }
    }

    private func insertLine(_ line: UnsafeRawBufferPointer) throws {
        // The id is the record's first field: {"id":"...". Read it without parsing the whole record.
        let prefix = Array("{\"id\":\"".utf8)
        guard line.count > prefix.count + 1, line.starts(with: prefix),
              let close = line[prefix.count...].firstIndex(of: UInt8(ascii: "\"")) else { return }
        let id = UnsafeRawBufferPointer(rebasing: line[prefix.count..<close])
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        sqlite3_reset(insert)
        sqlite3_bind_text(insert, 1, id.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(id.count), transient)
        sqlite3_bind_text(insert, 2, line.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(line.count), transient)
        guard sqlite3_step(insert) == SQLITE_DONE else { throw SinkError("inserting into \(path) failed: \(message)") }
    }

    public func reopen() throws {
        close()
        try open()
    }

    public func close() {
        sqlite3_finalize(insert)
        insert = nil
        if let db { sqlite3_close(db) }
        db = nil
    }
}
