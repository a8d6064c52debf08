// `--log postgres://...`: records into PostgreSQL through libpq, one row per exchange in kgb_exchanges (see
// PostgresSchema), on the spool's delivery thread, never on a loop or the logger. The connection is made at the
// first delivery and again after any failure, so kgb starts and serves while the server is down: records wait in
// the spool and arrive when it is back.

/// Used by one thread at a time (the spool's delivery thread): `deliver` and `close` are not called concurrently.
public final class PostgresSink: RemoteSink, @unchecked Sendable {
    /// The URL without its password.
    public let name: String
    private let url: String
    private var connection: PostgresConnection?

    /// Rows per INSERT: one parameter each (the record), well under libpq's 65,535 per statement.
    static let rowsPerStatement = 1_000

    /// Checks the URL's syntax (an unknown option, a malformed address) without connecting.
    public init(url: String) throws(SinkError) {
        name = LogSpec.withoutPassword(url)
        do {
            try PostgresConnection.check(url)
        } catch {
            throw SinkError("\(name) is not a PostgreSQL URL libpq accepts: \(error.message)")
        }
        self.url = url
    }

    deinit { close() }

    /// Stores the batch: one transaction, rows whose id is already there skipped. When PostgreSQL refuses the
    /// batch for what is in it (a record that is not JSON, a value out of range), each record is sent again on its
    /// own, so one bad record costs only itself: the others are stored, and the failure is a reject naming it.
    public func deliver(_ records: [[UInt8]]) throws(DeliveryFailure) {
        var rows: [[UInt8]] = []
        var refused: [String] = []
        for (index, record) in records.enumerated() {
            if PostgresRow.startsWithStringID(record) || PostgresRow.id(of: record) != nil {
                rows.append(record)
            } else {
                refused.append("record \(index + 1) of the batch is not a JSON object with an \"id\"")
            }
        }
        if !rows.isEmpty {
            let connection = try connected()
            do throws(PostgresFailure) {
                try insert(rows, on: connection)
            } catch where error.isDataError {
                // Most often a NUL (`\u0000`), which jsonb cannot hold: mended, the batch goes again, and only what
                // is still refused then is refused alone.
                let mended = rows.map(PostgresRow.storable)
                do throws(PostgresFailure) {
                    try insert(mended, on: connection)
                } catch where error.isDataError {
                    refused += try insertEach(mended, on: connection)
                } catch {
                    throw unavailable(error)
                }
            } catch {
                throw unavailable(error)
            }
        }
        guard refused.isEmpty else {
            let stored = records.count - refused.count
            let reasons = refused.prefix(3).joined(separator: "; ") + (refused.count > 3 ? "; and \(refused.count - 3) more" : "")
            throw DeliveryFailure(.reject, "\(name): \(refused.count) of \(records.count) records refused (\(reasons)); "
                                  + "the other \(stored) " + (stored == 1 ? "is" : "are") + " stored")
        }
    }

    public func close() {
        connection?.close()
        connection = nil
    }

    // MARK: Delivery

    /// The open connection, or a new one with the schema brought up to date. Any failure is a retry: the server is
    /// down, starting, unreachable or refusing this role, all of which can change while records wait.
    private func connected() throws(DeliveryFailure) -> PostgresConnection {
        if let connection, connection.isUsable { return connection }
        close()
        do throws(PostgresFailure) {
            let fresh = try PostgresConnection(url: url)
            try PostgresSchema.migrate(fresh)
            connection = fresh
            return fresh
        } catch {
            throw unavailable(error)
        }
    }

    /// All rows in one transaction, in prepared statements of 1,000, 100, 10 and 1 rows (1,234 rows: 1 + 2 + 3 + 4
    /// statements): four statement texts per connection, parsed and planned once.
    private func insert(_ rows: [[UInt8]], on connection: PostgresConnection) throws(PostgresFailure) {
        var statements: [ArraySlice<[UInt8]>] = []
        var start = 0
        for size in Self.statementSizes {
            while rows.count - start >= size {
                statements.append(rows[start..<(start + size)])
                start += size
            }
        }
        if statements.count > 1 { try connection.execute("BEGIN") }
        do throws(PostgresFailure) {
            var buffer: [UInt8] = []
            var offsets: [Int?] = []
            for statement in statements {
                buffer.removeAll(keepingCapacity: true)
                offsets.removeAll(keepingCapacity: true)
                for record in statement {
                    offsets.append(buffer.count)
                    buffer.append(contentsOf: record)
                    buffer.append(0)
                }
                try connection.executePrepared("kgb_insert_\(statement.count)", sql: { PostgresSchema.insert(rows: statement.count) },
                                               buffer: buffer, offsets: offsets)
            }
            if statements.count > 1 { try connection.execute("COMMIT") }
        } catch {
            if statements.count > 1 && connection.isUsable { _ = try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    static let statementSizes = [rowsPerStatement, 100, 10, 1]

    /// Each row in a statement of its own; returns why each refused row was refused. A failure that is not the
    /// row's fault ends it as a retry (the rows before it are stored; sent again, they are skipped).
    private func insertEach(_ rows: [[UInt8]], on connection: PostgresConnection) throws(DeliveryFailure) -> [String] {
        var refused: [String] = []
        let statement = PostgresSchema.insert(rows: 1)
        for record in rows {
            do throws(PostgresFailure) {
                try connection.execute(statement, [record])
            } catch where error.isDataError {
                refused.append("record \(PostgresRow.id(of: record) ?? "?"): \(error)")
            } catch {
                throw unavailable(error)
            }
        }
        return refused
    }

    /// The store cannot take records now: drop the connection (the next delivery makes a new one) and let the
    /// spool send the batch again later.
    private func unavailable(_ failure: PostgresFailure) -> DeliveryFailure {
        close()
        return DeliveryFailure(.retry(afterSeconds: nil), "\(name): \(failure)")
    }
}
