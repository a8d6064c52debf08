// A small JSON reader for the API events the logger takes usage and text from (message_start, message_delta, OpenAI
// chunks, whole answers): RFC 8259 with one leniency, a comma before a closing bracket, which Foundation's parser
// (used here before) also took. No Foundation: it reads bytes and builds plain Swift values.

enum JSONValue {
    case null
    case bool(Bool)
    /// The number as written; `int` reads it.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; a key given twice: the last one counts (see `subscript`).
    case object([(key: String, value: JSONValue)])

    /// The whole of `bytes` as one value (whitespace around it allowed); nil for anything malformed.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
        var reader = Reader(bytes: bytes)
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipSpace()
        return reader.at == bytes.count ? value : nil
    }

    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// The object's member `key` (the last, when given twice); nil when absent or not an object.
    subscript(_ key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members.reversed() where member.key == key { return member.value }
        return nil
    }

    var isObject: Bool { if case .object = self { true } else { false } }

    var stringValue: String? { if case .string(let text) = self { text } else { nil } }

    var arrayValue: [JSONValue]? { if case .array(let items) = self { items } else { nil } }

    /// An integral number ("12", "12.0", "1.2e1"); nil for fractions, out-of-range values and non-numbers.
    var int: Int? {
        guard case .number(let text) = self else { return nil }
        if let n = Int(text) { return n }
        return Double(text).flatMap { Int(exactly: $0) }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func skipSpace() {
            while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
        }

        /// Deep enough for any API event; deeper input is refused rather than risking the thread's stack.
        static let maxDepth = 256

        mutating func value(depth: Int) -> JSONValue? {
            skipSpace()
            guard at < bytes.count, depth < Self.maxDepth else { return nil }
            switch bytes[at] {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string().map { .string($0) }
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            default: return number()
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let length = word.utf8CodeUnitCount
            guard at + length <= bytes.count,
                  DeltaFastPath.equals(UnsafeRawBufferPointer(rebasing: bytes[at..<at + length]), word) else { return false }
            at += length
            return true
        }

        mutating func object(depth: Int) -> JSONValue? {
            at += 1
            var members: [(key: String, value: JSONValue)] = []
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
            while true {
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { return nil }
                at += 1
                guard let value = value(depth: depth + 1) else { return nil }
                members.append((key, value))
                skipSpace()
                guard at < bytes.count else { return nil }
                if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
                guard bytes[at] == UInt8(ascii: ",") else { return nil }
                at += 1
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
            }
        }

        mutating func array(depth: Int) -> JSONValue? {
            at += 1
            var items: [JSONValue] = []
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
            while true {
                guard let item = value(depth: depth + 1) else { return nil }
                items.append(item)
                skipSpace()
                guard at < bytes.count else { return nil }
                if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
                guard bytes[at] == UInt8(ascii: ",") else { return nil }
                at += 1
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
            }
        }

        /// At an opening quote: the decoded string (escapes resolved, valid UTF-8, no raw control bytes).
        mutating func string() -> String? {
            var decoded: [UInt8] = []
            guard let end = DeltaFastPath.appendJSONString(bytes, from: at + 1, to: &decoded) else { return nil }
            at = end
            return String(decoding: decoded, as: UTF8.self)
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
        mutating func number() -> JSONValue? {
            let start = at
            func digits() -> Int {
                let from = at
                while at < bytes.count, bytes[at] >= 0x30, bytes[at] <= 0x39 { at += 1 }
                return at - from
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard at < bytes.count else { return nil }
            if bytes[at] == UInt8(ascii: "0") {
                at += 1
            } else {
                guard digits() > 0 else { return nil }
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
                at += 1
                guard digits() > 0 else { return nil }
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
                at += 1
                if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
                guard digits() > 0 else { return nil }
            }
            return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self))
        }
    }
}
