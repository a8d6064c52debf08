// One exchange record as a row of kgb_exchanges: the columns people filter and add up, read from the record's
// JSON, and the record itself for the jsonb column. Pure (no libpq), so the mapping is tested without a server.
internal import CPostgres
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

    /// The same parameters written straight into one buffer of NUL-terminated values (libpq's text format), with
    /// where each starts (nil: NULL): no array per value.
    func appendParameters(to buffer: inout [UInt8], offsets: inout [Int?]) {
        func add(_ text: String?) {
            guard var text else { return offsets.append(nil) }
            offsets.append(buffer.count)
            text.withUTF8 { buffer.append(contentsOf: $0) }
            buffer.append(0)
        }
        for field in [id, startedAt, method, path, upstream, status, outcome, model, inputTokens, outputTokens, totalMs,
                      ttfbMs, costUSD, agent] as [String?] { add(field) }
        offsets.append(buffer.count)
        buffer.append(contentsOf: record)
        buffer.append(0)
    }

    /// nil when the bytes are not a JSON object with a string `id` (no row can hold it: the id is the key). A
    /// member that is absent, null or of another type than the column's is NULL; the record keeps it as it was.
    /// `mendingNUL`: first turn `\u0000` escapes into `\ufffd` (see `storable`). The sink leaves it off and mends
    /// only a batch PostgreSQL refused, so the scan costs nothing on the way every other record goes.
    init?(record bytes: [UInt8], mendingNUL: Bool = true) {
        let record = mendingNUL ? Self.storable(bytes) : bytes
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
        // memmem finds each `\u0000` at memory speed (a byte loop, then memchr from escape to escape, were most of the
        // delivery thread's time). It is an escape only after an even run of backslashes: `\\u0000` is a
        // backslash, then text.
        var found: [Int] = []
        record.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            let needle: StaticString = "\\u0000"
            var from = 0
            while from < bytes.count, let hit = kgb_memmem(base + from, bytes.count - from, needle.utf8Start, 6) {
                let at = base.distance(to: hit)
                var before = 0
                while at - before - 1 >= 0 && bytes[at - before - 1] == UInt8(ascii: "\\") { before += 1 }
                if before % 2 == 0 { found.append(at) }
                from = at + 1
            }
        }
        guard !found.isEmpty else { return record }
        var result = record
        for at in found { result.replaceSubrange((at + 2)..<(at + 6), with: Array("fffd".utf8)) }
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

    private func value(_ key: StaticString) -> Range<Int>? {
        // The last of repeated keys, as PostgreSQL's jsonb keeps it. memcmp: a generic elementsEqual here was a
        // sixth of the delivery thread's time.
        let count = key.utf8CodeUnitCount
        return members.last { $0.key.count == count && memcmp($0.key.baseAddress!, key.utf8Start, count) == 0 }?.value
    }

    func string(_ key: StaticString) -> String? {
        value(key).flatMap { TopLevelScanner.string(data, $0) }
    }

    func object(_ key: StaticString) -> Members? {
        guard let range = value(key), data[range.lowerBound] == UInt8(ascii: "{") else { return nil }
        return Members(data, from: range.lowerBound)
    }

    /// A JSON number's text, or nil for anything else.
    private func number(_ key: StaticString) -> String? {
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
    func integer(_ key: StaticString, in range: ClosedRange<Int64> = Int64.min...Int64.max) -> String? {
        guard let text = number(key) else { return nil }
        // Plain digits (what kgb writes) need no floating point; "12.0" and "1.2e1" go through it.
        if let value = Int64(text) { return range.contains(value) ? text : nil }
        guard let double = Double(text), let value = Int64(exactly: double), range.contains(value) else { return nil }
        return String(value)
    }

    /// A number that fits a double precision column (not 1e400). Without an exponent and with at most 300 digits
    /// it does, so only such numbers are parsed.
    func double(_ key: StaticString) -> String? {
        guard let text = number(key) else { return nil }
        if text.utf8.count <= 300 && !text.utf8.contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            return text
        }
        guard let double = Double(text), double.isFinite else { return nil }
        return text
    }

    /// A number as the record spells it, for a numeric column: no rounding through binary floating point.
    func decimal(_ key: StaticString) -> String? { number(key) }
}
