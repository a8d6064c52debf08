// The JSON the pages' API answers with, written straight into bytes. Values from the store arrive as text; a
// column is declared a number or a string, and a number that is not valid JSON (never expected) becomes null.
import ExchangeLog

struct JSONText {
    enum Kind { case string, number, json }

    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(16 * 1024) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A member name and its colon, after a comma unless `first`.
    mutating func key(_ name: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    mutating func value(_ text: String?, as kind: Kind) {
        guard let text else { raw("null"); return }
        switch kind {
        case .string: string(text)
        case .number: if Self.isNumber(text) { bytes.append(contentsOf: text.utf8) } else { raw("null") }
        case .json: bytes.append(contentsOf: text.utf8)  // a record, JSON already (the store checked it)
        }
    }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5c, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5c, 0x5c])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [0x5c, UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): bytes.append(contentsOf: [0x5c, UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): bytes.append(contentsOf: [0x5c, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5c, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Rows as arrays, each value of its column's kind.
    mutating func rows(_ rows: [[String?]], kinds: [Kind]) {
        bytes.append(UInt8(ascii: "["))
        for (index, row) in rows.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "["))
            for (column, value) in row.enumerated() {
                if column > 0 { bytes.append(UInt8(ascii: ",")) }
                self.value(value, as: column < kinds.count ? kinds[column] : .string)
            }
            bytes.append(UInt8(ascii: "]"))
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// RFC 8259's number grammar, as the log's JSON readers read it.
    static func isNumber(_ text: String) -> Bool { JSONGrammar.isNumber(text) }
}
