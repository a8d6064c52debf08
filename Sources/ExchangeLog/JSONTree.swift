// A parsed JSON document for the readers of finished records (OTLP spans, `kgb tail` and `kgb show`), and its writer for
// the few documents they build (the gen_ai message attributes). What JSONSerialization did for them, without
// linking Foundation: numbers keep the text they were written with, so a value read and written again is the same.

public enum JSONTree: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number as written (`12`, `-0.5`, `1e3`): read as an Int or a Double on demand.
    case number(String)
    case string(String)
    case array([JSONTree])
    case object([String: JSONTree])

    // MARK: Reading

    /// Parses one JSON text (RFC 8259; surrounding whitespace allowed); nil when it is not one.
    public init?(parsing bytes: some Collection<UInt8>) {
        func read(_ raw: UnsafeRawBufferPointer) -> JSONTree? {
            var reader = JSONReader(raw)
            return reader.document()
        }
        let parsed = bytes.withContiguousStorageIfAvailable { read(UnsafeRawBufferPointer($0)) } ?? Array(bytes).withUnsafeBytes(read)
        guard let value = parsed else { return nil }
        self = value
    }

    public init?(parsing text: String) {
        self.init(parsing: Array(text.utf8))
    }

    /// An object's member (nil when absent or when this is not an object).
    public subscript(key: String) -> JSONTree? {
        if case .object(let members) = self { members[key] } else { nil }
    }

    public var object: [String: JSONTree]? { if case .object(let members) = self { members } else { nil } }
    public var array: [JSONTree]? { if case .array(let items) = self { items } else { nil } }
    public var string: String? { if case .string(let text) = self { text } else { nil } }
    public var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var isNull: Bool { self == .null }

    /// A string that says something: absent, null and "" are all "not said".
    public var nonEmptyString: String? {
        guard let text = string, !text.isEmpty else { return nil }
        return text
    }

    /// Any number; integral spellings too.
    public var double: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(text)
    }

    /// A whole number however it is spelled (`12`, `12.0`, `1.2e1`); nil for fractions and what an Int cannot hold.
    public var int: Int? {
        guard case .number(let text) = self else { return nil }
        return Int(text) ?? Double(text).flatMap { Int(exactly: $0) }
    }

    // MARK: Writing

    /// Compact JSON with object keys sorted (the same value gives the same bytes) and `/` not escaped.
    public var text: String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let text): Self.quote(text, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.quote(key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    public static func integer(_ value: Int) -> JSONTree { .number(String(value)) }

    private static func quote(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x08: out.append(contentsOf: #"\b"#.utf8)
            case 0x0C: out.append(contentsOf: #"\f"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// A recursive-descent reader over the bytes (JSONGrammar's pieces); nesting is bounded so a hostile record cannot
/// exhaust the stack. Stricter than JSONView on commas, kinder on strings: a lone surrogate escape reads as U+FFFD and
/// bytes that are not UTF-8 are replaced, as JSONSerialization did for these readers.
private struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    var index = 0
    var depth = 0
    static let maxDepth = 512

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func document() -> JSONTree? {
        skipWhitespace()
        guard let value = value() else { return nil }
        skipWhitespace()
        return index == bytes.count ? value : nil
    }

    private mutating func value() -> JSONTree? {
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string().map(JSONTree.string)
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return number()
        }
    }

    private mutating func object() -> JSONTree? {
        guard depth < Self.maxDepth else { return nil }
        depth += 1
        defer { depth -= 1 }
        index += 1
        var members: [String: JSONTree] = [:]
        skipWhitespace()
        if take(UInt8(ascii: "}")) { return .object(members) }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
            skipWhitespace()
            guard take(UInt8(ascii: ":")) else { return nil }
            skipWhitespace()
            guard let item = value() else { return nil }
            members[key] = item
            skipWhitespace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "}")) ? .object(members) : nil
        }
    }

    private mutating func array() -> JSONTree? {
        guard depth < Self.maxDepth else { return nil }
        depth += 1
        defer { depth -= 1 }
        index += 1
        var items: [JSONTree] = []
        skipWhitespace()
        if take(UInt8(ascii: "]")) { return .array(items) }
        while true {
            skipWhitespace()
            guard let item = value() else { return nil }
            items.append(item)
            skipWhitespace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "]")) ? .array(items) : nil
        }
    }

    /// At the opening quote; unescaped runs are copied whole.
    private mutating func string() -> String? {
        index += 1
        var out: [UInt8] = []
        var runStart = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                out.append(contentsOf: bytes[runStart..<index])
                index += 1
                return String(decoding: out, as: UTF8.self)
            }
            if byte < 0x20 { return nil }
            guard byte == UInt8(ascii: "\\") else {
                index += 1
                continue
            }
            out.append(contentsOf: bytes[runStart..<index])
            index += 1
            guard index < bytes.count else { return nil }
            let escaped = bytes[index]
            index += 1
            if let decoded = JSONGrammar.simpleEscape(escaped) {
                out.append(decoded)
            } else if escaped == UInt8(ascii: "u") {
                guard var code = hex4() else { return nil }
                // A surrogate pair is one scalar; a lone surrogate has none (U+FFFD stands for it).
                if (0xD800..<0xDC00).contains(code), bytes[index...].starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "u")]) {
                    let saved = index
                    index += 2
                    if let low = hex4(), (0xDC00..<0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        index = saved
                    }
                }
                out.append(contentsOf: String(Character(Unicode.Scalar(code) ?? "\u{FFFD}")).utf8)
            } else {
                return nil
            }
            runStart = index
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard let code = JSONGrammar.hex4(bytes, index) else { return nil }
        index += 4
        return code
    }

    private mutating func number() -> JSONTree? {
        guard let end = JSONGrammar.numberEnd(bytes, index) else { return nil }
        defer { index = end }
        return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self))
    }

    private mutating func literal(_ word: StaticString, _ value: JSONTree) -> JSONTree? {
        guard let end = JSONGrammar.literalEnd(bytes, index, word) else { return nil }
        index = end
        return value
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipWhitespace() {
        index = JSONGrammar.skipSpace(bytes, index)
    }
}
