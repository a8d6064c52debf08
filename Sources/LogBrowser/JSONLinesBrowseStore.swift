// A JSONL log, browsed: its records loaded into an in-memory SQLite database of the store's schema, and the lines
// appended since read in before each query (the file is followed across logrotate as `kgb tail` follows it).
// Read-only and whole in memory: meant for the small files of a laptop; a fleet points `kgb ui` at its database.
import ExchangeLog

final class JSONLinesBrowseStore: BrowseStore {
    let dialect = SQLDialect.sqlite
    private let memory: SQLiteBrowseStore
    private let reader: LogStoreReader

    init(path: String) throws(BrowseError) {
        memory = try SQLiteBrowseStore.inMemory()
        do { reader = try LogStoreReader(.jsonLines(path: path)) } catch { throw BrowseError(error.description) }
        let all = (try? reader.newest(Int(Int32.max))) ?? []
        load(all)
    }

    func rows(_ sql: String, _ parameters: [String?]) throws(BrowseError) -> [[String?]] {
        try memory.rows(sql, parameters)
    }

    func catchUp() {
        load(reader.next())
    }

    /// One transaction for the lot. A line that is not a record (a torn write, say) fails json_extract and is skipped.
    private func load(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        _ = try? memory.rows("BEGIN", [])
        for var line in lines {
            _ = line.withUTF8 { memory.execute(SQLiteSchema.insert, UnsafeRawBufferPointer($0)) }
        }
        _ = try? memory.rows("COMMIT", [])
    }
}
