// A TOML document as kgb's files use it (--config, --agents, --prices): tables of values, each key with the line it
// was written on, so a message can name the line of any key and not only of a syntax error. Plain Swift: no
// Foundation and no C++ (the library it replaces linked both into the sidecar). Keys are in file order.

public enum TOMLValue {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    /// A date, time or date-time, kept as written: nothing kgb reads takes one, so it is only ever "the wrong type".
    case dateTime(String)
    case array([TOMLValue])
    case table(TOMLTable)

    public var string: String? { if case .string(let value) = self { value } else { nil } }
    public var int: Int? { if case .integer(let value) = self { value } else { nil } }
    /// A float only; callers that take either spelling ask `double ?? int.map(Double.init)`.
    public var double: Double? { if case .float(let value) = self { value } else { nil } }
    public var bool: Bool? { if case .boolean(let value) = self { value } else { nil } }
    public var array: [TOMLValue]? { if case .array(let value) = self { value } else { nil } }
    public var table: TOMLTable? { if case .table(let value) = self { value } else { nil } }
}

/// A class: headers later in the file (`[a.b]` after `[a]`, each `[[route]]`) add to tables made earlier.
public final class TOMLTable {
    /// How the table came to be, which decides what may still add to it (TOML 1.0, "Table").
    enum Origin {
        /// Made on the way to a deeper one (`[a]` by `[a.b]`): a header of its own may still come once.
        case implicit
        /// Its own `[header]`, or an element of an array of tables.
        case header
        /// By dotted keys (`a.b = 1` makes `a`): no header may open it again.
        case dotted
        /// `{ ... }`: complete as written.
        case inline
    }

    public private(set) var keys: [String] = []
    private var entries: [String: (value: TOMLValue, line: Int)] = [:]
    /// The line the table was first made on (its header, or the key that made it); 0 for the document itself.
    public let line: Int
    var origin: Origin

    init(line: Int, origin: Origin) {
        self.line = line
        self.origin = origin
    }

    /// Parses a whole document.
    public convenience init(parsing text: String) throws(TOMLError) {
        self.init(line: 0, origin: .header)
        var parser = TOMLParser(text, root: self)
        try parser.parseDocument()
    }

    public subscript(key: String) -> TOMLValue? { entries[key]?.value }

    /// The line `key` was written on (for a table made by a header, the header's line); 0 when absent.
    public func line(of key: String) -> Int { entries[key]?.line ?? 0 }

    func set(_ key: String, _ value: TOMLValue, line: Int) {
        if entries[key] == nil { keys.append(key) }
        entries[key] = (value, line)
    }
}

/// A syntax or structure error, at a line (1-based).
public struct TOMLError: Error, CustomStringConvertible {
    public let line: Int
    public let message: String
    public var description: String { message }
}
