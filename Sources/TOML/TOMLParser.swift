// TOML 1.0 read into TOMLTable: comments, bare/quoted/dotted keys, the four string forms, integers (decimal, hex,
// octal, binary), floats, booleans, dates (kept as text), arrays, inline tables, [tables] and [[arrays of
// tables]], with TOML's rules on defining a key or table twice. One pass over the UTF-8 bytes, counting lines.
// Lenient in one way only: an inline table may span lines (as TOML 1.1 allows).

struct TOMLParser {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private let root: TOMLTable
    /// The table key/value lines go into: the last header's.
    private var current: TOMLTable
    /// Tables made as elements of arrays of tables, by the identity of their parent and the key: `[[a]]` may add to
    /// these and nothing else, and a static array (`a = [...]`) can never take a `[[a]]`.
    private var tableArrays: Set<TableArrayKey> = []

    private struct TableArrayKey: Hashable {
        let parent: ObjectIdentifier
        let key: String
    }

    init(_ text: String, root: TOMLTable) {
        bytes = Array(text.utf8)
        self.root = root
        current = root
    }

    mutating func parseDocument() throws(TOMLError) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }  // a byte-order mark
        while true {
            skipSpaces()
            guard let byte = peek() else { return }
            switch byte {
            case UInt8(ascii: "#"): skipComment()
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"): try newline()
            case UInt8(ascii: "["):
                try header()
                try endOfLine()
            default:
                try keyValue(into: current)
                try endOfLine()
            }
        }
    }

    // MARK: Tables

    private mutating func header() throws(TOMLError) {
        let at = line
        index += 1
        let isArray = peek() == UInt8(ascii: "[")
        if isArray { index += 1 }
        skipSpaces()
        let path = try keyPath()
        skipSpaces()
        guard take(UInt8(ascii: "]")), !isArray || take(UInt8(ascii: "]")) else {
            throw failure(isArray ? "expected ']]' to close the [[table]] header" : "expected ']' to close the [table] header")
        }
        var table = root
        for key in path.dropLast() { table = try descend(table, key, path: path) }
        let last = path[path.count - 1]
        let name = Self.dotted(path)
        if isArray {
            let arrayKey = TableArrayKey(parent: ObjectIdentifier(table), key: last)
            let element = TOMLTable(line: at, origin: .header)
            if let existing = table[last] {
                guard tableArrays.contains(arrayKey), case .array(let items) = existing else {
                    throw failure("[[\(name)]]: \(name) is already defined as something else than an array of tables", at: at)
                }
                table.set(last, .array(items + [.table(element)]), line: table.line(of: last))
            } else {
                tableArrays.insert(arrayKey)
                table.set(last, .array([.table(element)]), line: at)
            }
            current = element
        } else if let existing = table[last] {
            guard case .table(let defined) = existing, defined.origin == .implicit else {
                throw failure("[\(name)] is defined twice (or \(name) is already a value)", at: at)
            }
            defined.origin = .header
            current = defined
        } else {
            let made = TOMLTable(line: at, origin: .header)
            table.set(last, .table(made), line: at)
            current = made
        }
    }

    /// The table at `key` under `table` on the way to a header's table: made (implicitly) when absent; the last
    /// element when it is an array of tables.
    private mutating func descend(_ table: TOMLTable, _ key: String, path: [String]) throws(TOMLError) -> TOMLTable {
        switch table[key] {
        case nil:
            let made = TOMLTable(line: line, origin: .implicit)
            table.set(key, .table(made), line: line)
            return made
        case .table(let found)? where found.origin != .inline:
            return found
        case .array(let items)? where tableArrays.contains(TableArrayKey(parent: ObjectIdentifier(table), key: key)):
            guard case .table(let last)? = items.last else { break }
            return last
        default:
            break
        }
        throw failure("[\(Self.dotted(path))]: \(key) is already a value, not a table")
    }

    // MARK: Key/value pairs

    private mutating func keyValue(into table: TOMLTable) throws(TOMLError) {
        let at = line
        let path = try keyPath()
        skipSpaces()
        guard take(UInt8(ascii: "=")) else { throw failure("expected '=' after the key \(Self.dotted(path))") }
        skipSpaces()
        let value = try self.value()
        var target = table
        for key in path.dropLast() {
            switch target[key] {
            case nil:
                let made = TOMLTable(line: at, origin: .dotted)
                target.set(key, .table(made), line: at)
                target = made
            case .table(let found)? where found.origin == .dotted:
                target = found
            default:
                throw failure("\(Self.dotted(path)): \(key) is already defined", at: at)
            }
        }
        let last = path[path.count - 1]
        guard target[last] == nil else { throw failure("the key \(Self.dotted(path)) is defined twice", at: at) }
        target.set(last, value, line: at)
    }

    /// `a`, `"a b"`, `'a'`, or several of them joined by dots.
    private mutating func keyPath() throws(TOMLError) -> [String] {
        var path: [String] = []
        while true {
            skipSpaces()
            path.append(try simpleKey())
            skipSpaces()
            guard take(UInt8(ascii: ".")) else { return path }
        }
    }

    private mutating func simpleKey() throws(TOMLError) -> String {
        switch peek() {
        case UInt8(ascii: "\"")?:
            index += 1
            return try basicString()
        case UInt8(ascii: "'")?:
            index += 1
            return try literalString()
        default:
            let start = index
            while let byte = peek(), Self.isBareKeyByte(byte) { index += 1 }
            guard index > start else { throw failure(peek().map { "expected a key, found '\(Self.character($0))'" } ?? "expected a key") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
    }

    // MARK: Values

    private mutating func value() throws(TOMLError) -> TOMLValue {
        guard let byte = peek() else { throw failure("expected a value") }
        switch byte {
        case UInt8(ascii: "\""):
            if starts(with: "\"\"\"") {
                index += 3
                return .string(try multilineBasicString())
            }
            index += 1
            return .string(try basicString())
        case UInt8(ascii: "'"):
            if starts(with: "'''") {
                index += 3
                return .string(try multilineLiteralString())
            }
            index += 1
            return .string(try literalString())
        case UInt8(ascii: "["):
            index += 1
            return .array(try array())
        case UInt8(ascii: "{"):
            index += 1
            return .table(try inlineTable())
        default:
            return try scalar()
        }
    }

    private mutating func array() throws(TOMLError) -> [TOMLValue] {
        var items: [TOMLValue] = []
        while true {
            try skipBlank()
            if take(UInt8(ascii: "]")) { return items }
            items.append(try value())
            try skipBlank()
            if take(UInt8(ascii: ",")) { continue }
            guard take(UInt8(ascii: "]")) else { throw failure("expected ',' or ']' in the array") }
            return items
        }
    }

    private mutating func inlineTable() throws(TOMLError) -> TOMLTable {
        let table = TOMLTable(line: line, origin: .inline)
        try skipBlank()
        if take(UInt8(ascii: "}")) { return table }
        while true {
            try skipBlank()
            try keyValue(into: table)
            try skipBlank()
            if take(UInt8(ascii: ",")) { continue }
            guard take(UInt8(ascii: "}")) else { throw failure("expected ',' or '}' in the inline table") }
            return table
        }
    }

    /// A bare value: a boolean, a number or a date, up to the next separator.
    private mutating func scalar() throws(TOMLError) -> TOMLValue {
        let start = index
        while let byte = peek(), !Self.endsScalar(byte) { index += 1 }
        // `1979-05-27 07:32:00`: a date and a time may be separated by one space.
        if index - start == 10, Self.isDate(bytes[start..<index]), peek() == UInt8(ascii: " "), index + 3 < bytes.count,
           Self.isDigit(bytes[index + 1]), Self.isDigit(bytes[index + 2]), bytes[index + 3] == UInt8(ascii: ":") {
            index += 1
            while let byte = peek(), !Self.endsScalar(byte) { index += 1 }
        }
        let token = bytes[start..<index]
        guard !token.isEmpty else { throw failure(peek().map { "expected a value, found '\(Self.character($0))'" } ?? "expected a value") }
        // The common case, a plain decimal integer, without building a String.
        if token.count < 19, token.allSatisfy(Self.isDigit), token.count == 1 || token.first != UInt8(ascii: "0") {
            return .integer(token.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) })
        }
        let text = String(decoding: token, as: UTF8.self)
        switch text {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        if Self.isDate(token.prefix(10)) || (token.count >= 8 && Self.isTime(token.prefix(8))) { return .dateTime(text) }
        if let number = Self.integer(token) { return .integer(number) }
        if let number = Self.float(token) { return .float(number) }
        throw failure("'\(text)' is not a value (a string needs quotes)", at: line)
    }

    // MARK: Strings

    private mutating func basicString() throws(TOMLError) -> String {
        var out: [UInt8] = []
        while true {
            guard let byte = next() else { throw failure("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"): try escape(into: &out)
            case UInt8(ascii: "\n"): throw failure("unterminated string (a \"...\" string ends on its line; use \"\"\" for several)")
            default:
                guard byte >= 0x20 || byte == 0x09, byte != 0x7F else { throw failure("a control character in a string must be escaped") }
                out.append(byte)
            }
        }
    }

    private mutating func multilineBasicString() throws(TOMLError) -> String {
        var out: [UInt8] = []
        skipNewlineAfterDelimiter()
        while true {
            if starts(with: "\"\"\"") {
                index += 3
                // Up to two quotes right before the closing ones belong to the string.
                var extra = 0
                while extra < 2, take(UInt8(ascii: "\"")) { out.append(UInt8(ascii: "\"")); extra += 1 }
                return String(decoding: out, as: UTF8.self)
            }
            guard let byte = next() else { throw failure("unterminated \"\"\" string") }
            switch byte {
            case UInt8(ascii: "\\"):
                // A backslash ending a line joins it to the next, dropping the whitespace between.
                var probe = index
                while probe < bytes.count, bytes[probe] == 0x20 || bytes[probe] == 0x09 { probe += 1 }
                if probe < bytes.count, bytes[probe] == 0x0A || (bytes[probe] == 0x0D && probe + 1 < bytes.count && bytes[probe + 1] == 0x0A) {
                    index = probe
                    while let next = peek(), next == 0x20 || next == 0x09 || next == 0x0A || next == 0x0D {
                        if next == 0x0A { line += 1 }
                        index += 1
                    }
                } else {
                    try escape(into: &out)
                }
            case UInt8(ascii: "\n"):
                line += 1
                out.append(byte)
            case UInt8(ascii: "\r") where peek() == UInt8(ascii: "\n"):
                break
            default:
                guard byte >= 0x20 || byte == 0x09, byte != 0x7F else { throw failure("a control character in a string must be escaped") }
                out.append(byte)
            }
        }
    }

    private mutating func literalString() throws(TOMLError) -> String {
        let start = index
        while let byte = peek(), byte != UInt8(ascii: "'") {
            guard byte != 0x0A else { throw failure("unterminated string (a '...' string ends on its line; use ''' for several)") }
            index += 1
        }
        guard take(UInt8(ascii: "'")) else { throw failure("unterminated string") }
        return String(decoding: bytes[start..<(index - 1)], as: UTF8.self)
    }

    private mutating func multilineLiteralString() throws(TOMLError) -> String {
        skipNewlineAfterDelimiter()
        var out: [UInt8] = []
        while true {
            if starts(with: "'''") {
                index += 3
                var extra = 0
                while extra < 2, take(UInt8(ascii: "'")) { out.append(UInt8(ascii: "'")); extra += 1 }
                return String(decoding: out, as: UTF8.self)
            }
            guard let byte = next() else { throw failure("unterminated ''' string") }
            if byte == 0x0A { line += 1 }
            if byte == 0x0D && peek() == 0x0A { continue }
            out.append(byte)
        }
    }

    private mutating func skipNewlineAfterDelimiter() {
        if starts(with: "\r\n") { index += 2; line += 1 } else if take(0x0A) { line += 1 }
    }

    private mutating func escape(into out: inout [UInt8]) throws(TOMLError) {
        guard let byte = next() else { throw failure("unterminated string") }
        switch byte {
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "e"): out.append(0x1B)
        case UInt8(ascii: "\""): out.append(byte)
        case UInt8(ascii: "\\"): out.append(byte)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let digits = byte == UInt8(ascii: "u") ? 4 : 8
            guard index + digits <= bytes.count,
                  let code = UInt32(String(decoding: bytes[index..<(index + digits)], as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(code) else {
                throw failure("\\\(Self.character(byte)) needs \(digits) hex digits of a Unicode scalar value")
            }
            index += digits
            out.append(contentsOf: String(Character(scalar)).utf8)
        default:
            throw failure("unknown escape \\\(Self.character(byte)) in a string")
        }
    }

    // MARK: Numbers

    private static func integer(_ token: ArraySlice<UInt8>) -> Int? {
        var body = token
        var negative = false
        if let sign = body.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            body = body.dropFirst()
        }
        var radix = 10
        if body.count > 2, body.first == UInt8(ascii: "0"), token.first == UInt8(ascii: "0") {
            switch body[body.startIndex + 1] {
            case UInt8(ascii: "x"): radix = 16
            case UInt8(ascii: "o"): radix = 8
            case UInt8(ascii: "b"): radix = 2
            default: return nil
            }
            body = body.dropFirst(2)
        }
        guard let digits = withoutUnderscores(body), !digits.isEmpty,
              digits.allSatisfy({ Self.digitValue($0).map { $0 < radix } ?? false }),
              radix != 10 || digits.count == 1 || digits.first != UInt8(ascii: "0") else { return nil }
        return Int(String(decoding: negative ? [UInt8(ascii: "-")] + digits : digits, as: UTF8.self), radix: radix)
    }

    private static func float(_ token: ArraySlice<UInt8>) -> Double? {
        var body = token
        if let sign = body.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { body = body.dropFirst() }
        let exponentAt = body.firstIndex { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        let mantissa = body[..<(exponentAt ?? body.endIndex)]
        let dot = mantissa.firstIndex(of: UInt8(ascii: "."))
        let whole = mantissa[..<(dot ?? mantissa.endIndex)]
        guard dot != nil || exponentAt != nil,
              let wholeDigits = withoutUnderscores(whole), !wholeDigits.isEmpty, wholeDigits.allSatisfy(isDigit),
              wholeDigits.count == 1 || wholeDigits.first != UInt8(ascii: "0") else { return nil }
        if let dot {
            guard let fraction = withoutUnderscores(mantissa[(dot + 1)...]), !fraction.isEmpty, fraction.allSatisfy(isDigit) else { return nil }
        }
        if let exponentAt {
            var exponent = body[(exponentAt + 1)...]
            if let sign = exponent.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { exponent = exponent.dropFirst() }
            guard let digits = withoutUnderscores(exponent), !digits.isEmpty, digits.allSatisfy(isDigit) else { return nil }
        }
        return Double(String(decoding: token.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self))
    }

    /// The digits with underscores taken out; nil when an underscore is not between two digits.
    private static func withoutUnderscores(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var previousWasDigit = false
        for (offset, byte) in digits.enumerated() {
            if byte == UInt8(ascii: "_") {
                guard previousWasDigit, offset + 1 < digits.count else { return nil }
                previousWasDigit = false
            } else {
                out.append(byte)
                previousWasDigit = true
            }
        }
        return previousWasDigit || digits.isEmpty ? out : nil
    }

    private static func digitValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    // MARK: Bytes

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func next() -> UInt8? {
        guard index < bytes.count else { return nil }
        index += 1
        return bytes[index - 1]
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    private func starts(with text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return text.withUTF8Buffer { bytes[index..<(index + count)].elementsEqual($0) }
    }

    private mutating func skipSpaces() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 { index += 1 }
    }

    private mutating func skipComment() {
        while let byte = peek(), byte != 0x0A { index += 1 }
    }

    private mutating func newline() throws(TOMLError) {
        if take(0x0A) || (starts(with: "\r\n") && take(0x0D) && take(0x0A)) {
            line += 1
            return
        }
        throw failure("a carriage return must be followed by a line feed")
    }

    /// Spaces, newlines and comments, as arrays and (here) inline tables allow between their items.
    private mutating func skipBlank() throws(TOMLError) {
        while let byte = peek() {
            switch byte {
            case 0x20, 0x09: index += 1
            case UInt8(ascii: "#"): skipComment()
            case 0x0A, 0x0D: try newline()
            default: return
            }
        }
    }

    /// After a key/value pair or a header: only a comment, then the end of the line.
    private mutating func endOfLine() throws(TOMLError) {
        skipSpaces()
        if peek() == UInt8(ascii: "#") { skipComment() }
        guard let byte = peek() else { return }
        guard byte == 0x0A || byte == 0x0D else {
            throw failure("expected the end of the line, found '\(Self.character(byte))' (one key = value per line)")
        }
        try newline()
    }

    private func failure(_ message: String, at line: Int? = nil) -> TOMLError {
        TOMLError(line: line ?? self.line, message: message)
    }

    // MARK: Character classes

    private static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }

    private static func endsScalar(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"): true
        default: false
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// `YYYY-MM-DD`
    private static func isDate(_ text: ArraySlice<UInt8>) -> Bool {
        matches(text, "dddd-dd-dd")
    }

    /// `HH:MM:SS`
    private static func isTime(_ text: ArraySlice<UInt8>) -> Bool {
        matches(text, "dd:dd:dd")
    }

    /// `pattern`: `d` a digit, anything else itself.
    private static func matches(_ text: ArraySlice<UInt8>, _ pattern: StaticString) -> Bool {
        guard text.count == pattern.utf8CodeUnitCount else { return false }
        return pattern.withUTF8Buffer { pattern in
            for (offset, expected) in pattern.enumerated() {
                let byte = text[text.startIndex + offset]
                guard expected == UInt8(ascii: "d") ? isDigit(byte) : byte == expected else { return false }
            }
            return true
        }
    }

    private static func character(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\u{\(String(byte, radix: 16))}"
    }

    private static func dotted(_ path: [String]) -> String {
        path.map { key in key.utf8.allSatisfy(isBareKeyByte) && !key.isEmpty ? key : "\"\(key)\"" }.joined(separator: ".")
    }
}
