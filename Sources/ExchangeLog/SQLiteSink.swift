// An embedded, queryable store: one row per exchange in SQLite (WAL mode, one transaction per batch), with
// indexed columns for the questions users ask most and the full record as JSON. Logger thread only.
internal import CSQLite

public final class SQLiteSink: LogSink {
    public let path: String
    private var db: OpaquePointer?
    private var insert: OpaquePointer?
    public var name: String { "sqlite:\(path)" }

    public init(path: String) throws {
        self.path = path
        try open()
    }

    private func open() throws {
        let directory = FileSystem.parent(of: path)
        if !directory.isEmpty { try? FileSystem.createDirectories(directory) }
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
            let reason = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            close()
            throw SinkError("cannot open \(path): \(reason)")
        }
        sqlite3_busy_timeout(db, 5_000)  // several kgb instances may share one file
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=NORMAL")
        do { try SQLiteSchema.migrate(db!, path: path) } catch { close(); throw error }
        guard sqlite3_prepare_v2(db, SQLiteSchema.insert, -1, &insert, nil) == SQLITE_OK else {
            throw SinkError("preparing the insert in \(path) failed: \(message)")
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
        // Every record starts {"id":"; anything else (a torn line after a full disk, say) is not a record.
        guard line.starts(with: Self.recordStart) else { return }
        sqlite3_reset(insert)
        sqlite3_bind_text(insert, 1, line.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(line.count),
                          unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        guard sqlite3_step(insert) == SQLITE_DONE else { throw SinkError("inserting into \(path) failed: \(message)") }
    }

    private static let recordStart = Array("{\"id\":\"".utf8)

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
