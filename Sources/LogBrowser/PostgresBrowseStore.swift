// kgb_exchanges in PostgreSQL, browsed: one connection, brought to the current schema at start (the columns and
// indexes `kgb ui` filters on), opened again when it was lost (the server restarted while the page was open).
import ExchangeLog

final class PostgresBrowseStore: BrowseStore {
    let dialect = SQLDialect.postgres
    private let url: String
    private var connection: PostgresConnection

    init(url: String) throws(BrowseError) {
        self.url = url
        do {
            connection = try PostgresConnection(url: url)
            try PostgresSchema.migrate(connection)
            try connection.execute("SET default_transaction_read_only = on")
        } catch {
            throw BrowseError("\(LogSpec.withoutPassword(url)): \(error)")
        }
    }

    func catchUp() {}

    func rows(_ sql: String, _ parameters: [String?]) throws(BrowseError) -> [[String?]] {
        do {
            if !connection.isUsable {
                connection.close()
                connection = try PostgresConnection(url: url)
                try connection.execute("SET default_transaction_read_only = on")
            }
            return try connection.execute(sql, parameters.map { $0.map { Array($0.utf8) } })
        } catch {
            throw BrowseError("\(LogSpec.withoutPassword(url)): \(error)")
        }
    }
}
