// One libpq connection, used by one thread at a time (the sink's delivery thread, or `kgb tail`): connects with
// kgb's defaults where neither the URL nor libpq's variables (PGPASSWORD, PGCONNECT_TIMEOUT, ...) say otherwise,
// and turns results into rows of text and failures into errors that carry the SQLSTATE. Never on an event loop:
// every call blocks.
internal import CPostgres
import Glibc

/// A statement or a connection attempt that failed. `sqlState` is the server's code (nil when there was no
/// answer: the connection could not be made or was lost).
package struct PostgresFailure: Error, CustomStringConvertible {
    let sqlState: String?
    let message: String

    /// The rows sent are at fault and would fail again whatever the server's state: class 22 (data exception:
    /// malformed JSON, a bad timestamp, bytes that are not UTF-8), 23 (integrity constraint violation: a NOT NULL
    /// column without a value) and 54 (program limit exceeded: a value too large for an index row or for jsonb).
    /// Everything else is the store's state, which can change: the connection lost or refused, the server shutting
    /// down (57P01) or starting (57P03), class 08, a full disk (53100), a lock or serialisation conflict (40), a
    /// missing privilege (42501) or database (3D000) that an operator can fix while records wait in the spool.
    var isDataError: Bool {
        guard let sqlState, sqlState.count == 5 else { return false }
        return ["22", "23", "54"].contains(sqlState.prefix(2))
    }

    package var description: String { sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message }
}

package final class PostgresConnection {
    private var connection: OpaquePointer?

    /// Keywords kgb sets unless libpq's environment variable for the same setting is set. They come before the
    /// URL in the connection parameters, so the URL's own query (`?connect_timeout=10`) wins over both.
    private static let defaults: [(keyword: String, variable: String, value: String)] = [
        // A dead host must not hold the delivery thread for long (libpq waits forever without it).
        ("connect_timeout", "PGCONNECT_TIMEOUT", "5"),
        // A connection whose peer vanished mid-statement (no RST: a host gone, a network cut) is noticed within
        // seconds instead of the kernel's two hours.
        ("keepalives_idle", "", "10"), ("keepalives_interval", "", "5"), ("keepalives_count", "", "3"),
        ("tcp_user_timeout", "", "30000"),
    ]

    /// Checks the URL's syntax and options without connecting (kgb starts while the server is down).
    static func check(_ url: String) throws(PostgresFailure) {
        try loadLibrary()
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &error) else {
            let message = error.map { String(cString: $0) } ?? "out of memory"
            PQfreemem(error)
            throw PostgresFailure(sqlState: nil, message: oneLine(message))
        }
        PQconninfoFree(options)
    }

    package init(url: String) throws(PostgresFailure) {
        try Self.loadLibrary()
        let environment = ProcessEnvironment.variables
        var pairs = Self.defaults.filter { $0.variable.isEmpty || environment[$0.variable] == nil }
            .map { ($0.keyword, $0.value) }
        // fallback_: PGAPPNAME or the URL's application_name win; pg_stat_activity shows "kgb" otherwise.
        pairs.append(("fallback_application_name", "kgb"))
        pairs.append(("dbname", url))  // expanded (the last argument of PQconnectdbParams): its settings win
        // Records are UTF-8 whatever the database's default client encoding.
        pairs.append(("client_encoding", "UTF8"))
        let keywords = pairs.map { strdup($0.0) }, values = pairs.map { strdup($0.1) }
        defer { (keywords + values).forEach { free($0) } }
        let connection = PQconnectdbParams((keywords + [nil]).map { UnsafePointer($0) },
                                           (values + [nil]).map { UnsafePointer($0) }, 1)
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(connection)
            throw PostgresFailure(sqlState: nil, message: Self.oneLine(message))
        }
        // The server's notices (NOTICE, WARNING) would go to stderr, one per statement that raised one.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        self.connection = connection
    }

    deinit { close() }

    /// False once the connection broke (libpq notices when a statement fails on it).
    package var isUsable: Bool { connection.map { PQstatus($0) == CONNECTION_OK } ?? false }

    package func close() {
        PQfinish(connection)
        connection = nil
    }

    /// Statements this connection has prepared (by name).
    private var prepared: Set<String> = []

    /// Runs a statement prepared once per connection under `name` (`sql()` gives its text the first time), with
    /// text parameters given as one buffer of NUL-terminated values at `offsets` (nil: NULL). Spares the server a
    /// parse and plan per batch, and kgb the statement text.
    func executePrepared(_ name: String, sql: () -> String, buffer: [UInt8], offsets: [Int?]) throws(PostgresFailure) {
        guard let connection else { throw PostgresFailure(sqlState: nil, message: "the connection is closed") }
        if !prepared.contains(name) {
            let result = PQprepare(connection, name, sql(), Int32(offsets.count), nil)
            try check(result, connection)
            prepared.insert(name)
        }
        let result = buffer.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self)
            let values: [UnsafePointer<CChar>?] = offsets.map { $0.map { base + $0 } }
            return PQexecPrepared(connection, name, Int32(values.count), values, nil, nil, 0)
        }
        try check(result, connection)
    }

    /// Clears a result that must have succeeded with no rows; throws what PostgreSQL said otherwise.
    private func check(_ result: OpaquePointer?, _ connection: OpaquePointer) throws(PostgresFailure) {
        defer { PQclear(result) }
        guard let result else {
            throw PostgresFailure(sqlState: nil, message: Self.oneLine(String(cString: PQerrorMessage(connection))))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return
        default:
            let sqlState = kgb_PQresultSQLState(result).map { String(cString: $0) }
            let message = kgb_PQresultPrimaryMessage(result).map { String(cString: $0) }
                ?? String(cString: PQresultErrorMessage(result))
            throw PostgresFailure(sqlState: sqlState, message: Self.oneLine(message))
        }
    }

    /// Runs one statement with its values as separate parameters (never spliced into the SQL text) and returns the
    /// rows as text (nil: NULL). With no parameters the text may hold several statements (migrations).
    @discardableResult
    package func execute(_ sql: String, _ parameters: [[UInt8]?] = []) throws(PostgresFailure) -> [[String?]] {
        guard let connection else { throw PostgresFailure(sqlState: nil, message: "the connection is closed") }
        let result: OpaquePointer?
        if parameters.isEmpty {
            result = PQexec(connection, sql)
        } else {
            // One buffer for every value, each NUL-terminated (text-format parameters are C strings).
            var buffer: [UInt8] = []
            buffer.reserveCapacity(parameters.reduce(0) { $0 + ($1?.count ?? 0) + 1 })
            var offsets: [Int?] = []
            for parameter in parameters {
                guard let parameter else { offsets.append(nil); continue }
                offsets.append(buffer.count)
                buffer.append(contentsOf: parameter)
                buffer.append(0)
            }
            result = buffer.withUnsafeBufferPointer { bytes in
                let base = UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self)
                let values: [UnsafePointer<CChar>?] = offsets.map { $0.map { base + $0 } }
                return PQexecParams(connection, sql, Int32(values.count), nil, values, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        guard let result else {
            throw PostgresFailure(sqlState: nil, message: Self.oneLine(String(cString: PQerrorMessage(connection))))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return []
        case PGRES_TUPLES_OK:
            let rows = PQntuples(result), columns = PQnfields(result)
            return (0..<rows).map { row in
                (0..<columns).map { column in
                    PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
                }
            }
        default:
            let sqlState = kgb_PQresultSQLState(result).map { String(cString: $0) }
            let message = kgb_PQresultPrimaryMessage(result).map { String(cString: $0) }
                ?? String(cString: PQresultErrorMessage(result))
            throw PostgresFailure(sqlState: sqlState, message: Self.oneLine(message))
        }
    }

    /// libpq is loaded when PostgreSQL is first used, not at every start (see CModules/CPostgres).
    private static func loadLibrary() throws(PostgresFailure) {
        var reason = [CChar](repeating: 0, count: 600)
        guard kgb_libpq_load(&reason, reason.count) == 0 else {
            throw PostgresFailure(sqlState: nil, message: String(cString: reason))
        }
    }

    /// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...?"): one line for
    /// operator messages.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingSpaces }
            .filter { !$0.isEmpty }.joined(separator: " ")
    }
}
