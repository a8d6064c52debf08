// The store `kgb ui` reads: a SQLite file, a PostgreSQL database, or a JSONL file loaded into an in-memory SQLite
// database (and followed as it grows), so every page is one SQL query whatever the store. Every call blocks: the
// server runs them on libuv's thread pool, one at a time (a connection is not for two threads at once).
import ExchangeLog
import Synchronization

public struct BrowseError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// The request was at fault (a filter that is not one), not the store.
    let isInput: Bool
    public init(_ description: String) { self.init(description, isInput: false) }
    init(_ description: String, isInput: Bool) {
        self.description = description
        self.isInput = isInput
    }
}

protocol BrowseStore: AnyObject {
    var dialect: SQLDialect { get }
    /// The rows of `sql` as text (nil: NULL); `parameters` bind to the dialect's placeholders 1...n in order.
    func rows(_ sql: String, _ parameters: [String?]) throws(BrowseError) -> [[String?]]
    /// Takes in what was appended to a followed file since the last call; a database needs nothing.
    func catchUp()
}

/// The store behind a lock: a pool thread at a time.
public final class SharedStore: Sendable {
    private let store: Mutex<any BrowseStore>
    public let name: String

    /// Opens (and for SQLite or PostgreSQL, brings to the current schema version) the store `spec` names.
    public init(_ spec: LogSpec) throws(BrowseError) {
        name = spec.description
        switch spec {
        case .sqlite(let path):
            store = Mutex(try SQLiteBrowseStore(file: path))
        case .jsonLines(let path):
            store = Mutex(try JSONLinesBrowseStore(path: path))
        case .postgres(let url):
            store = Mutex(try PostgresBrowseStore(url: url))
        case .standardOutput, .none, .collector, .otlp:
            throw BrowseError("\(spec) is not a store that can be browsed: use sqlite:PATH, postgres://... or jsonl:PATH")
        }
    }

    func use<Result: Sendable>(_ body: (any BrowseStore) throws(BrowseError) -> Result) throws(BrowseError) -> Result {
        try store.withLock { (store: inout any BrowseStore) throws(BrowseError) -> Result in try body(store) }
    }
}
