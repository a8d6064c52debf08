// Reads exchange records back from a log store (a JSONL file, a SQLite database or PostgreSQL) for `kgb tail`
// and `kgb show`: the newest records, then each new one as it is written. Never used by the gateway itself.
internal import CSQLite
import Glibc

public final class LogStoreReader {
    private enum Store {
        case jsonLines(path: String)
        case sqlite(db: OpaquePointer)
        case postgres(PostgresStoreReader)
    }

    private let store: Store
    /// JSONL: the file being followed (reopened when logrotate replaces it) and the bytes of a line not yet ended.
    private var file: Int32 = -1
    private var fileIdentity: (device: UInt64, inode: UInt64)?
    private var partial: [UInt8] = []
    /// SQLite: the highest rowid returned so far.
    private var lastRow: Int64 = 0

    public init(_ spec: LogSpec) throws(SinkError) {
        switch spec {
        case .jsonLines(let path):
            store = .jsonLines(path: path)
        case .sqlite(let path):
            var db: OpaquePointer?
            guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK, let db else {
                throw SinkError("cannot open \(path): \(db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory")")
            }
            sqlite3_busy_timeout(db, 2_000)
            store = .sqlite(db: db)
        case .postgres(let url):
            store = .postgres(try PostgresStoreReader(url: url))
        case .standardOutput, .none, .collector, .otlp:
            throw SinkError("\(spec) is not a store that can be read back: use jsonl:PATH, sqlite:PATH or postgres://...")
        }
    }

    deinit {
        if case .sqlite(let db) = store { sqlite3_close(db) }
        if file >= 0 { close(file) }
    }

    /// The last `count` records (oldest first) of this agent or session when given (the record's agent.name and
    /// agent.session), and positions the reader after them for `next()`, which does not filter.
    public func newest(_ count: Int, agent: String? = nil, session: String? = nil) throws(SinkError) -> [String] {
        if case .postgres(let reader) = store { return try reader.newest(count, agent: agent, session: session) }
        guard agent == nil && session == nil else {
            // A file holds no index to ask: every record is read, and filtered here.
            return Array(newestInFile(Int(Int32.max)).filter { Self.matches($0, agent: agent, session: session) }
                .suffix(max(count, 0)))
        }
        return newestInFile(count)
    }

    private func newestInFile(_ count: Int) -> [String] {
        switch store {
        case .jsonLines(let path):
            guard openFile(path) else { return [] }
            // The tail of a large file is enough for `count` lines of reasonable size; the reader continues from the end.
            let size = max(0, lseek(file, 0, SEEK_END))
            let window = off_t(max(count, 1)) * 256 * 1024
            lseek(file, size > window ? size - window : 0, SEEK_SET)
            let lines = readAppendedLines()
            return Array(lines.suffix(count))
        case .sqlite(let db):
            var rows: [(Int64, String)] = []
            query(db, "SELECT rowid, record FROM exchanges ORDER BY rowid DESC LIMIT \(max(count, 0))") { rows.append($0) }
            lastRow = rows.first?.0 ?? maxRow(db)
            return rows.reversed().map(\.1)
        case .postgres:
            preconditionFailure("PostgreSQL is read by PostgresStoreReader")
        }
    }

    /// Records written since the last call (possibly none).
    public func next() -> [String] {
        switch store {
        case .jsonLines(let path):
            if file < 0 || replaced(path) {
                if file >= 0 { close(file) }
                file = -1
                partial.removeAll()
                guard openFile(path) else { return [] }
            }
            return readAppendedLines()
        case .sqlite(let db):
            var rows: [(Int64, String)] = []
            query(db, "SELECT rowid, record FROM exchanges WHERE rowid > \(lastRow) ORDER BY rowid") { rows.append($0) }
            if let last = rows.last { lastRow = last.0 }
            return rows.map(\.1)
        case .postgres(let reader):
            return reader.next()
        }
    }

    /// Every record whose id is `id` (normally one).
    public func find(id: String) -> [String] {
        switch store {
        case .jsonLines(let path):
            guard let data = FileSystem.read(path) else { return [] }
            let needle = Array("\"id\":\"\(id)\"".utf8)
            return data.split(separator: UInt8(ascii: "\n")).filter { $0.firstRange(of: needle) != nil }
                .map { String(decoding: $0, as: UTF8.self) }
        case .sqlite(let db):
            var rows: [String] = []
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(db, "SELECT rowid, record FROM exchanges WHERE id = ?1", -1, &statement, nil) == SQLITE_OK else { return [] }
            defer { sqlite3_finalize(statement) }
            sqlite3_bind_text(statement, 1, id, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            while sqlite3_step(statement) == SQLITE_ROW {
                rows.append(String(cString: sqlite3_column_text(statement, 1)))
            }
            return rows
        case .postgres(let reader):
            return reader.find(id: id)
        }
    }

    private static func matches(_ line: String, agent: String?, session: String?) -> Bool {
        guard let record = JSONTree(parsing: line), record.object != nil else { return false }
        let identity = record["agent"]
        return (agent == nil || identity?["name"]?.string == agent) && (session == nil || identity?["session"]?.string == session)
    }

    // MARK: JSONL

    private func openFile(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        file = fd
        fileIdentity = Self.identity(path)
        return true
    }

    /// True when the path now names another file (rotated) or the file shrank (truncated).
    private func replaced(_ path: String) -> Bool {
        guard let now = Self.identity(path) else { return false }
        if let before = fileIdentity, before != now { return true }
        let position = file >= 0 ? lseek(file, 0, SEEK_CUR) : 0
        var info = stat()
        return stat(path, &info) == 0 && info.st_size < position
    }

    private func readAppendedLines() -> [String] {
        guard file >= 0 else { return [] }
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            partial.append(contentsOf: chunk[..<n])
        }
        guard let lastNewline = partial.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        let lines = partial[..<lastNewline].split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        partial.removeSubrange(...lastNewline)
        // A window that started mid-line: the first piece is not a whole record.
        return lines.filter { $0.hasPrefix("{") }
    }

    private static func identity(_ path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    // MARK: SQLite

    private func query(_ db: OpaquePointer, _ sql: String, _ row: ((Int64, String)) -> Void) {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else { return }
        defer { sqlite3_finalize(statement) }
        while sqlite3_step(statement) == SQLITE_ROW {
            row((sqlite3_column_int64(statement, 0), String(cString: sqlite3_column_text(statement, 1))))
        }
    }

    private func maxRow(_ db: OpaquePointer) -> Int64 {
        var result: Int64 = 0
        query(db, "SELECT coalesce(max(rowid), 0), '' FROM exchanges") { result = $0.0 }
        return result
    }
}
