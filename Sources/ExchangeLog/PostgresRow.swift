// One exchange record as a row of kgb_exchanges: the columns people filter and add up, read from the record's
// JSON, and the record itself for the jsonb column. Pure (no libpq), so the mapping is tested without a server.
import Foundation

struct PostgresRow: Equatable {
    var id: String
    var startedAt: String?
    var method: String?
    var path: String?
    var upstream: String?
    var status: String?
    var outcome: String?
    var model: String?
    var inputTokens: String?
    var outputTokens: String?
    var totalMs: String?
    var ttfbMs: String?
    var costUSD: String?
    var agent: String?
    /// The record as sent, but for `\u0000` (see `storable`).
    var record: [UInt8]

    /// The insert's parameters, in the order of `PostgresSchema.insertColumns`; nil is SQL NULL. Numbers and times
    /// are text that PostgreSQL casts (`$2::timestamptz`), so cost_usd keeps the record's decimal digits.
    var parameters: [[UInt8]?] {
        [id, startedAt, method, path, upstream, status, outcome, model, inputTokens, outputTokens, totalMs, ttfbMs,
         costUSD, agent].map { $0.map { Array($0.utf8) } } + [record]
    }

    /// nil when the bytes are not a JSON object with a string `id` (no row can hold it: the id is the key). A
    /// member that is absent, null or of another type than the column's is NULL; the record keeps it as it was.
    init?(record bytes: [UInt8]) {
        let record = Self.storable(bytes)
        let row: PostgresRow? = record.withUnsafeBytes { data in
            guard let top = Members(data, from: 0), let id = top.string("id") else { return nil }
            let response = top.object("response"), usage = top.object("usage")
            let timing = top.object("timing"), agent = top.object("agent")
            return PostgresRow(
                id: id, startedAt: top.string("started_at"), method: top.string("method"), path: top.string("path"),
                upstream: top.string("upstream"), status: response?.integer("status", in: Int64(Int32.min)...Int64(Int32.max)),
                outcome: top.string("outcome"), model: usage?.string("model"),
                inputTokens: usage?.integer("input_tokens"), outputTokens: usage?.integer("output_tokens"),
                totalMs: timing?.double("total_ms"), ttfbMs: timing?.double("ttfb_ms"), costUSD: top.decimal("cost_usd"),
                agent: agent?.string("name"), record: [])
        }
        guard var row else { return nil }
        row.record = record
        self = row
    }

    init(id: String, startedAt: String?, method: String?, path: String?, upstream: String?, status: String?,
         outcome: String?, model: String?, inputTokens: String?, outputTokens: String?, totalMs: String?,
         ttfbMs: String?, costUSD: String?, agent: String?, record: [UInt8]) {
        self.id = id
        self.startedAt = startedAt
        self.method = method
        self.path = path
        self.upstream = upstream
        self.status = status
        self.outcome = outcome
        self.model = model
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.totalMs = totalMs
        self.ttfbMs = ttfbMs
        self.costUSD = costUSD
        self.agent = agent
        self.record = record
    }

    /// PostgreSQL's text and jsonb cannot hold the NUL character, and a body with NUL bytes is valid UTF-8, which
    /// the record keeps as text with `\u0000` escapes. Each such escape becomes `\ufffd` (the replacement
    /// character) so the record is stored rather than refused; every other byte is kept.
    static func storable(_ record: [UInt8]) -> [UInt8] {
        let backslash = UInt8(ascii: "\\"), zero = UInt8(ascii: "0")
        var result = record
        var i = 0
        while i + 1 < result.count {
            guard result[i] == backslash else { i += 1; continue }
            // An escape is a backslash and the byte after it (so `\\u0000`, an escaped backslash, is left alone).
            if result[i + 1] == UInt8(ascii: "u"), i + 6 <= result.count,
               result[i + 2] == zero, result[i + 3] == zero, result[i + 4] == zero, result[i + 5] == zero {
                result.replaceSubrange((i + 2)..<(i + 6), with: Array("fffd".utf8))
                i += 6
            } else {
                i += 2
            }
        }
        return result
    }
}

/// The members of one JSON object in a record, read without parsing the values it does not need.
private struct Members {
    let data: UnsafeRawBufferPointer
    let members: [(key: UnsafeRawBufferPointer, value: Range<Int>)]

    init?(_ data: UnsafeRawBufferPointer, from start: Int) {
        guard let members = TopLevelScanner.members(data, from: start) else { return nil }
        self.data = data
        self.members = members
    }

    private func value(_ key: String) -> Range<Int>? {
        let name = Array(key.utf8)
        // The last of repeated keys, as PostgreSQL's jsonb keeps it.
        return members.last { $0.key.elementsEqual(name) }?.value
    }

    func string(_ key: String) -> String? {
        value(key).flatMap { TopLevelScanner.string(data, $0) }
    }

    func object(_ key: String) -> Members? {
        guard let range = value(key), data[range.lowerBound] == UInt8(ascii: "{") else { return nil }
        return Members(data, from: range.lowerBound)
    }

    /// A JSON number's text, or nil for anything else.
    private func number(_ key: String) -> String? {
        guard let range = value(key) else { return nil }
        let bytes = UnsafeRawBufferPointer(rebasing: data[range])
        return Self.isNumber(bytes) ? String(decoding: bytes, as: UTF8.self) : nil
    }

    /// JSON's number grammar (RFC 8259 §6): `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. Swift's
    /// `Double(_:)` alone would also take "inf", "nan" and hexadecimal.
    static func isNumber(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        func digits() -> Int {
            let start = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            return i - start
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count else { return false }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { return false }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { return false }
        }
        return i == bytes.count
    }

    /// An integral number that fits the column ("12" and "12.0" alike), in its plain spelling; else nil.
    func integer(_ key: String, in range: ClosedRange<Int64> = Int64.min...Int64.max) -> String? {
        guard let text = number(key), let double = Double(text), let value = Int64(exactly: double),
              range.contains(value) else { return nil }
        return String(value)
    }

    /// A number that fits a double precision column (not 1e400).
    func double(_ key: String) -> String? {
        guard let text = number(key), let double = Double(text), double.isFinite else { return nil }
        return text
    }

    /// A number as the record spells it, for a numeric column: no rounding through binary floating point.
    func decimal(_ key: String) -> String? { number(key) }
}
