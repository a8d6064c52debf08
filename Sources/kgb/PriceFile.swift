// --prices FILE, and the table kgb ships (DefaultPrices): TOML with one table per model under `models`, prices
// in USD per million tokens. Every mistake stops start-up with where it is, so a typo cannot price at zero.
//
//     [models."claude-sonnet-4-5"]
//     input = 3.0
//     output = 15.0
//     cache_write = 3.75     # optional: the input price when absent
//     cache_read = 0.30      # optional: the input price when absent
import ExchangeLog
import TOML

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
        guard let data = FileSystem.read(path) else {
            throw Failure(description: "cannot read \(path)")
        }
        return try parse(String(decoding: data, as: UTF8.self), name: path)
    }

    /// `name` (the file, or what stands for it) opens every message.
    static func parse(_ text: String, name: String) throws(Failure) -> PriceTable {
        let root: TOMLTable
        do { root = try TOMLTable(parsing: text) } catch {
            throw Failure(description: "\(name) line \(error.line): \(error.message)")
        }
        func describe(_ key: String, _ line: Int) -> String {
            line > 0 ? "\(name) line \(line), \(key)" : "\(name), \(key)"
        }
        for key in root.keys where key != "models" {
            throw Failure(description: "\(describe(key, root.line(of: key))): unknown key (known: models)")
        }
        guard let value = root["models"] else {
            throw Failure(description: "\(name): no [models.\"ID\"] tables (each needs input and output prices)")
        }
        guard let models = value.table else {
            throw Failure(description: "\(describe("models", root.line(of: "models"))): must be a table of [models.\"ID\"] tables")
        }
        var table: [String: ModelPrice] = [:]
        // In the file's order, so the first mistake reported is the first one in the file.
        for id in models.keys {
            let at = models.line(of: id)
            guard !id.isEmpty else { throw Failure(description: "\(describe("models.\"\"", at)): a model id must not be empty") }
            guard let entry = models[id]?.table else {
                throw Failure(description: "\(describe("models.\"\(id)\"", at)): must be a table of \(fields.joined(separator: ", "))")
            }
            var prices: [String: Double] = [:]
            for field in entry.keys {
                // Only a mistake needs the words (the shipped table is read at every start).
                var origin: String { describe("models.\"\(id)\".\(field)", entry.line(of: field)) }
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
                throw Failure(description: "\(describe("models.\"\(id)\"", at)): no \(field) price")
            }
            let input = prices["input"]!
            table[id] = ModelPrice(input: input, output: prices["output"]!, cacheWrite: prices["cache_write"] ?? input,
                                   cacheRead: prices["cache_read"] ?? input)
        }
        guard !table.isEmpty else { throw Failure(description: "\(name): no models in [models]") }
        return PriceTable(table)
    }
}
