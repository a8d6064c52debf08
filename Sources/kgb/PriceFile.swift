// --prices FILE, and the table kgb ships (DefaultPrices): TOML with one table per model under `models`, prices
// in USD per million tokens. Every mistake stops start-up with where it is, so a typo cannot price at zero.
//
//     [models."claude-sonnet-4-5"]
//     input = 3.0
//     output = 15.0
//     cache_write = 3.75     # optional: the input price when absent
//     cache_read = 0.30      # optional: the input price when absent
import ExchangeLog
import Foundation
import TOMLKit

enum PriceFile {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let fields = ["input", "output", "cache_write", "cache_read"]

    /// The table kgb ships; a failure here is a bug in DefaultPrices.swift (the tests parse it).
    static func shipped() throws(Failure) -> PriceTable {
        try parse(DefaultPrices.toml, name: "the shipped price table (Sources/kgb/DefaultPrices.swift)")
    }

    static func load(path: String) throws(Failure) -> PriceTable {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "cannot read \(path)")
        }
        return try parse(String(decoding: data, as: UTF8.self), name: path)
    }

    /// `name` (the file, or what stands for it) opens every message.
    static func parse(_ text: String, name: String) throws(Failure) -> PriceTable {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw Failure(description: "\(name) line \(error.source.begin.line): \(error.description)")
        } catch {
            throw Failure(description: "\(name): \(error)")
        }
        // Lines are looked up only to explain a mistake: a good table (the shipped one, at every start) is read
        // without them, which keeps start-up quick; a bad one is read again, in file order, to name the first.
        do { return try read(root, place: Place(name: name, text: nil)) } catch {
            _ = try read(root, place: Place(name: name, text: text))
            throw error
        }
    }

    private static func read(_ root: TOMLTable, place: Place) throws(Failure) -> PriceTable {
        let name = place.name
        for key in root.keys where key != "models" {
            throw Failure(description: "\(place.key(key)): unknown key (known: models)")
        }
        guard let value = root["models"] else {
            throw Failure(description: "\(name): no [models.\"ID\"] tables (each needs input and output prices)")
        }
        guard let models = value.table else {
            throw Failure(description: "\(place.key("models")): must be a table of [models.\"ID\"] tables")
        }
        var table: [String: ModelPrice] = [:]
        // In the file's order, so the first mistake reported is the first one in the file.
        // (Each model's line found once: finding it in the comparator made start-up take a third of a second.)
        let lineOf = Dictionary(uniqueKeysWithValues: models.keys.map { ($0, place.model($0)) })
        for id in models.keys.sorted(by: { (lineOf[$0]!, $0) < (lineOf[$1]!, $1) }) {
            let at = lineOf[id]!
            guard !id.isEmpty else { throw Failure(description: "\(place.describe("models.\"\"", at)): a model id must not be empty") }
            guard let entry = models[id]?.table else {
                throw Failure(description: "\(place.describe("models.\"\(id)\"", at)): must be a table of \(fields.joined(separator: ", "))")
            }
            var prices: [String: Double] = [:]
            for field in entry.keys {
                let line = place.field(field, after: at)
                let origin = place.describe("models.\"\(id)\".\(field)", line > 0 ? line : at)
                let value = entry[field]!
                guard fields.contains(field) else {
                    // [models.gpt-5.1] is models → gpt-5 → 1 in TOML: say so rather than only "unknown field".
                    let hint = value.table != nil ? "; a model id with a dot in it must be quoted: [models.\"\(id).\(field)\"]" : ""
                    throw Failure(description: "\(origin): unknown field (known: \(fields.joined(separator: ", ")))\(hint)")
                }
                guard let price = value.double ?? value.int.map(Double.init) else {
                    throw Failure(description: "\(origin): must be a number (USD per million tokens)")
                }
                guard price.isFinite else { throw Failure(description: "\(origin): must be a finite number (got \(price))") }
                guard price >= 0 else { throw Failure(description: "\(origin): must not be negative (got \(price))") }
                prices[field] = price
            }
            for field in ["input", "output"] where prices[field] == nil {
                throw Failure(description: "\(place.describe("models.\"\(id)\"", at)): no \(field) price")
            }
            let input = prices["input"]!
            table[id] = ModelPrice(input: input, output: prices["output"]!, cacheWrite: prices["cache_write"] ?? input,
                                   cacheRead: prices["cache_read"] ?? input)
        }
        guard !table.isEmpty else { throw Failure(description: "\(name): no models in [models]") }
        return PriceTable(table)
    }
}

/// Lines of keys in the text, for messages (TOMLKit reports positions for syntax errors only). Best effort: 0
/// when a key is not found where it is usually written.
private struct Place {
    let name: String
    let lines: [Substring]

    /// `text` nil: no lines are looked up (every line is 0).
    init(name: String, text: String?) {
        self.name = name
        lines = text?.split(separator: "\n", omittingEmptySubsequences: false) ?? []
    }

    func describe(_ key: String, _ line: Int) -> String {
        line > 0 ? "\(name) line \(line), \(key)" : "\(name), \(key)"
    }

    /// A top-level key: assigned, or a table header naming it or a table inside it (`[model."x"]`).
    func key(_ key: String) -> String {
        describe(key, first { line in
            Self.assigns(line, key) || Self.header(line).map { $0 == key || $0.hasPrefix(key + ".") } == true
        })
    }

    /// `[models."ID"]`, `"ID" = { ... }` under `[models]`, or `models."ID".input = ...`.
    func model(_ id: String) -> Int {
        first { line in
            Self.assigns(line, id) || Self.spellings(id).contains {
                Self.header(line) == "models.\($0)" || Self.header(line)?.hasPrefix("models.\($0).") == true
                    || line.drop(while: \.isWhitespace).hasPrefix("models.\($0).")
            }
        }
    }

    /// The field's first assignment at or after the model's line (on it, for an inline table).
    func field(_ field: String, after start: Int) -> Int {
        guard start > 0 else { return 0 }
        return first(from: start) { line in
            if Self.assigns(line, field) || line.contains(".\(field) =") || line.contains(".\(field)=") { return true }
            guard let brace = line.firstIndex(of: "{") else { return false }
            return line[brace...].contains("\(field) =") || line[brace...].contains("\(field)=")
        }
    }

    private func first(from start: Int = 1, _ matches: (Substring) -> Bool) -> Int {
        for index in max(0, start - 1)..<lines.count where matches(lines[index]) { return index + 1 }
        return 0
    }

    private static func spellings(_ key: String) -> [String] { ["\"\(key)\"", "'\(key)'", key] }

    /// A table header's name without spaces: `[ models . "x" ]` → `models."x"`.
    private static func header(_ line: Substring) -> String? {
        let text = line.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("["), !text.hasPrefix("[["), let close = text.lastIndex(of: "]") else { return nil }
        return String(text[text.index(after: text.startIndex)..<close]).replacingOccurrences(of: " ", with: "")
    }

    /// Does the line start with `key =` (any spelling of the key)?
    private static func assigns(_ line: Substring, _ key: String) -> Bool {
        let text = line.drop(while: \.isWhitespace)
        return spellings(key).contains { text.hasPrefix($0) && text.dropFirst($0.count).drop(while: \.isWhitespace).hasPrefix("=") }
    }
}
