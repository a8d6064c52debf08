// A SQLite store, read for `kgb ui`: the gateway's file, or an in-memory database holding a JSONL log. Two SQL
// functions of ours: kgb_contains (a case-insensitive substring test, for free-text search in records) and
// kgb_percentile (an aggregate: the value at a fraction of the sorted values, interpolated as PostgreSQL's
// percentile_cont does), so the overview asks SQLite for percentiles the way it asks PostgreSQL.
internal import CSQLite
import ExchangeLog

final class SQLiteBrowseStore: BrowseStore {
    let dialect = SQLDialect.sqlite
    private let db: OpaquePointer
    private let name: String
    /// Prepared statements by their text: the pages ask the same few shapes again and again.
    private var prepared: [String: OpaquePointer] = [:]

    /// The gateway's file: opened for writing only to bring an older file to the current schema (kgb ui's indexes).
    convenience init(file path: String) throws(BrowseError) {
        try self.init(path: path, flags: SQLITE_OPEN_READWRITE, name: "sqlite:\(path)")
    }

    /// An empty database of the current schema, in memory.
    static func inMemory() throws(BrowseError) -> SQLiteBrowseStore {
        try SQLiteBrowseStore(path: ":memory:", flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, name: "memory")
    }

    private init(path: String, flags: Int32, name: String) throws(BrowseError) {
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let handle else {
            let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw BrowseError("cannot open \(name): \(reason)")
        }
        db = handle
        self.name = name
        sqlite3_busy_timeout(db, 2_000)  // the gateway holds the write lock for a batch's transaction
        // Searches read records by the thousand: mapped pages instead of a read(2) and a copy each.
        sqlite3_exec(db, "PRAGMA mmap_size = 1073741824", nil, nil, nil)
        do {
            try SQLiteSchema.migrate(db, path: path)
        } catch {
            sqlite3_close(db)
            throw BrowseError(error.description)
        }
        Self.addFunctions(db)
    }

    deinit {
        for statement in prepared.values { sqlite3_finalize(statement) }
        sqlite3_close(db)
    }

    func catchUp() {}

    func rows(_ sql: String, _ parameters: [String?]) throws(BrowseError) -> [[String?]] {
        let statement = try statement(sql)
        defer { sqlite3_reset(statement); sqlite3_clear_bindings(statement) }
        for (index, parameter) in parameters.enumerated() {
            if let parameter {
                sqlite3_bind_text(statement, Int32(index + 1), parameter, -1, transient)
            } else {
                sqlite3_bind_null(statement, Int32(index + 1))
            }
        }
        var rows: [[String?]] = []
        let columns = sqlite3_column_count(statement)
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                rows.append((0..<columns).map { column in
                    sqlite3_column_type(statement, column) == SQLITE_NULL
                        ? nil : String(cString: sqlite3_column_text(statement, column))
                })
            case SQLITE_DONE:
                return rows
            default:
                throw BrowseError("\(name): \(String(cString: sqlite3_errmsg(db)))")
            }
        }
    }

    /// Runs one statement that returns nothing (the JSONL loader's inserts), `parameter` as ?1.
    func execute(_ sql: String, _ parameter: UnsafeRawBufferPointer) -> Bool {
        guard let statement = try? statement(sql) else { return false }
        defer { sqlite3_reset(statement) }
        sqlite3_bind_text(statement, 1, parameter.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(parameter.count), transient)
        return sqlite3_step(statement) == SQLITE_DONE
    }

    private func statement(_ sql: String) throws(BrowseError) -> OpaquePointer {
        if let statement = prepared[sql] { return statement }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw BrowseError("\(name): \(String(cString: sqlite3_errmsg(db)))")
        }
        if prepared.count >= 128 {
            for old in prepared.values { sqlite3_finalize(old) }
            prepared.removeAll()
        }
        prepared[sql] = statement
        return statement
    }

    private var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }

    // MARK: functions

    private static func addFunctions(_ db: OpaquePointer) {
        let deterministic: Int32 = 0x800  // SQLITE_DETERMINISTIC, a macro Swift does not import
        sqlite3_create_function_v2(db, "kgb_contains", 2, SQLITE_UTF8 | deterministic, nil, { context, _, arguments in
            guard let arguments, let haystack = sqlite3_value_text(arguments[0]), let needle = sqlite3_value_text(arguments[1]) else {
                sqlite3_result_int(context, 0)
                return
            }
            sqlite3_result_int(context, kgb_contains_ignoring_case(haystack, needle))
        }, nil, nil, nil)
        sqlite3_create_function_v2(db, "kgb_percentile", 2, SQLITE_UTF8 | deterministic, nil, nil, { context, _, arguments in
            guard let arguments, let slot = sqlite3_aggregate_context(context, Int32(MemoryLayout<UnsafeMutableRawPointer?>.size))?
                .assumingMemoryBound(to: UnsafeMutableRawPointer?.self) else { return }
            if slot.pointee == nil { slot.pointee = Unmanaged.passRetained(Samples()).toOpaque() }
            let samples = Unmanaged<Samples>.fromOpaque(slot.pointee!).takeUnretainedValue()
            samples.fraction = sqlite3_value_double(arguments[1])
            if sqlite3_value_type(arguments[0]) != SQLITE_NULL { samples.values.append(sqlite3_value_double(arguments[0])) }
        }, { context in
            // No row at all: SQLite never allocated the slot, and asking with size 0 does not allocate one.
            guard let slot = sqlite3_aggregate_context(context, 0)?.assumingMemoryBound(to: UnsafeMutableRawPointer?.self),
                  let pointer = slot.pointee else {
                sqlite3_result_null(context)
                return
            }
            let samples = Unmanaged<Samples>.fromOpaque(pointer).takeRetainedValue()
            if let value = samples.percentile { sqlite3_result_double(context, value) } else { sqlite3_result_null(context) }
        }, nil)
    }
}

/// kgb_percentile's state for one group.
final class Samples {
    var values: [Double] = []
    var fraction = 0.5

    /// percentile_cont: the value at position fraction × (n − 1) of the sorted values, between its neighbours.
    var percentile: Double? {
        guard !values.isEmpty else { return nil }
        values.sort()
        let position = min(max(fraction, 0), 1) * Double(values.count - 1)
        let below = Int(position.rounded(.down))
        let above = min(below + 1, values.count - 1)
        return values[below] + (values[above] - values[below]) * (position - Double(below))
    }
}
