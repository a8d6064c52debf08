// The PostgreSQL store without a server: a record's JSON as the row's column values (absent, null and
// mistyped members included), the insert's text, and which failures are the rows' fault.
@testable import ExchangeLog
import Testing

private func row(_ json: String) -> PostgresRow? { PostgresRow(record: Array(json.utf8)) }

private let full = """
    {"id":"0006453f2b9c81e2a41c00000001","started_at":"2026-11-25T12:34:56.123456Z","client":"127.0.0.1:53422",\
    "method":"POST","path":"/v1/messages?beta=\\"yes\\"&q=caf\\u00e9","upstream":"http://127.0.0.1:9100",\
    "request":{"headers":{"x-api-key":"sha256:4f0c9a1b2d3e"},"body":"{\\"model\\":\\"m\\"}","body_bytes":15,"truncated":false},\
    "response":{"status":200,"headers":{"content-type":"text/event-stream"},"body":"event: message_start","body_bytes":21},\
    "timing":{"upstream_connect_ms":0.21,"ttfb_ms":1.9,"first_token_ms":2.3,"total_ms":41.7},\
    "agent":{"name":"build-bot","key":"sha256:4f0c9a1b2d3e","session":"9d1c","user_agent":"claude-cli/2.0.14"},\
    "attempts":[{"upstream":"http://127.0.0.1:9100","status":200,"error":null,"ms":41.7}],\
    "outcome":"complete","error":null,\
    "usage":{"model":"claude-sonnet-4","input_tokens":14,"output_tokens":20,"stop_reason":"end_turn"},\
    "cost_usd":0.000342,"sse":{"events":26,"text":"word0"}}
    """

@Test func everyColumnIsReadFromItsMember() throws {
    let mapped = try #require(row(full))
    #expect(mapped.id == "0006453f2b9c81e2a41c00000001")
    #expect(mapped.startedAt == "2026-11-25T12:34:56.123456Z")
    #expect(mapped.method == "POST")
    #expect(mapped.path == "/v1/messages?beta=\"yes\"&q=café", "JSON escapes decoded")
    #expect(mapped.upstream == "http://127.0.0.1:9100")
    #expect(mapped.status == "200")
    #expect(mapped.outcome == "complete")
    #expect(mapped.model == "claude-sonnet-4")
    #expect(mapped.inputTokens == "14" && mapped.outputTokens == "20")
    #expect(mapped.totalMs == "41.7" && mapped.ttfbMs == "1.9")
    #expect(mapped.costUSD == "0.000342", "the record's digits, for a numeric column")
    #expect(mapped.agent == "build-bot")
    #expect(mapped.record == Array(full.utf8), "the record itself, untouched")
}

@Test func absentAndNullMembersAreNull() throws {
    // A request refused before routing: no method, no usage, no timings past the start, no agent name.
    let mapped = try #require(row("""
        {"id":"r1","started_at":"2026-11-25T12:00:00Z","method":null,"path":"/x","upstream":"",\
        "response":{"status":400},"timing":{"ttfb_ms":null,"total_ms":0.3},"agent":{"name":null},\
        "outcome":"rejected","cost_usd":null}
        """))
    #expect(mapped.method == nil && mapped.model == nil && mapped.inputTokens == nil && mapped.outputTokens == nil)
    #expect(mapped.ttfbMs == nil && mapped.totalMs == "0.3")
    #expect(mapped.costUSD == nil && mapped.agent == nil)
    #expect(mapped.upstream == "", "an empty string stays a string")
    #expect(mapped.status == "400")
    let bare = try #require(row(#"{"id":"r2"}"#))
    #expect(bare.startedAt == nil && bare.status == nil && bare.outcome == nil && bare.path == nil)
}

@Test func aMemberOfAnotherTypeIsNullNotAnError() throws {
    let mapped = try #require(row("""
        {"id":"r3","started_at":"2026-11-25T12:00:00Z","method":7,"response":{"status":"200"},"usage":"none",\
        "timing":{"total_ms":"slow","ttfb_ms":true},"agent":"bot","cost_usd":"0.1","outcome":{"x":1}}
        """))
    #expect(mapped.method == nil && mapped.status == nil && mapped.model == nil && mapped.totalMs == nil)
    #expect(mapped.ttfbMs == nil && mapped.agent == nil && mapped.costUSD == nil && mapped.outcome == nil)
}

@Test func numbersThatDoNotFitTheirColumnAreNull() throws {
    let mapped = try #require(row("""
        {"id":"r4","response":{"status":4294967296},"usage":{"input_tokens":12.0,"output_tokens":1.5},\
        "timing":{"total_ms":1e400,"ttfb_ms":-0.5e-3},"cost_usd":1e-9}
        """))
    #expect(mapped.status == nil, "beyond integer")
    #expect(mapped.inputTokens == "12", "an integral spelling, written plainly")
    #expect(mapped.outputTokens == nil, "not integral")
    #expect(mapped.totalMs == nil, "beyond double precision")
    #expect(mapped.ttfbMs == "-0.5e-3")
    #expect(mapped.costUSD == "1e-9")
    let odd = try #require(row(#"{"id":"r5","timing":{"total_ms":Infinity,"ttfb_ms":0x10},"cost_usd":01}"#))
    #expect(odd.totalMs == nil && odd.ttfbMs == nil && odd.costUSD == nil, "not JSON numbers")
}

@Test(arguments: ["", "[1]", "null", #"{"id":7}"#, #"{"id":null}"#, #"{"started_at":"x"}"#, #"{"id":"unterminated"#, "not json"])
func withoutAnObjectAndAStringIdThereIsNoRow(_ text: String) {
    #expect(row(text) == nil)
}

@Test func theLastOfRepeatedKeysWinsAsInJSONB() throws {
    let mapped = try #require(row(#"{"id":"a","outcome":"first","outcome":"second"}"#))
    #expect(mapped.outcome == "second")
}

@Test func nulEscapesBecomeReplacementCharactersAndNothingElseChanges() throws {
    // jsonb cannot hold U+0000; a body with NUL bytes is kept, with U+FFFD in their place.
    let text = #"{"id":"n","response":{"body":"a\u0000b\\u0000c\u00001"},"path":"/\u0000"}"#
    let mapped = try #require(row(text))
    #expect(String(decoding: mapped.record, as: UTF8.self)
            == #"{"id":"n","response":{"body":"a\ufffdb\\u0000c\ufffd1"},"path":"/\ufffd"}"#)
    #expect(mapped.path == "/\u{FFFD}")
    #expect(PostgresRow.storable(Array(#"{"a":"\\"}"#.utf8)) == Array(#"{"a":"\\"}"#.utf8))
    #expect(PostgresRow.storable(Array(#"\u000"#.utf8)) == Array(#"\u000"#.utf8), "cut short: left alone")
}

@Test func parametersFollowTheInsertColumns() throws {
    let mapped = try #require(row(full))
    let parameters = mapped.parameters
    #expect(parameters.count == PostgresSchema.insertColumns.count)
    #expect(PostgresSchema.insertColumns.first?.name == "id" && parameters.first! == Array("0006453f2b9c81e2a41c00000001".utf8))
    #expect(PostgresSchema.insertColumns.last?.name == "record" && parameters.last! == Array(full.utf8))
    let costIndex = try #require(PostgresSchema.insertColumns.firstIndex { $0.name == "cost_usd" })
    #expect(parameters[costIndex] == Array("0.000342".utf8))
}

@Test func theInsertHoldsPlaceholdersOnlyAndSkipsKnownIds() {
    let sql = PostgresSchema.insert(rows: 2)
    let columns = PostgresSchema.insertColumns.count
    #expect(sql.hasPrefix("INSERT INTO kgb_exchanges (id, started_at, method,"))
    #expect(sql.hasSuffix(" ON CONFLICT (id) DO NOTHING"))
    #expect(sql.contains("($1, $2::timestamptz, $3,"))
    #expect(sql.contains("($\(columns + 1), $\(columns + 2)::timestamptz,"))
    #expect(sql.contains("$\(2 * columns)::jsonb)"))
    #expect(!sql.contains("$\(2 * columns + 1)"))
    #expect(PostgresSink.rowsPerStatement * columns < 65_535, "libpq's limit on parameters per statement")
}

@Test(arguments: [
    ("22P02", true),   // invalid text representation: a record that is not JSON
    ("22007", true),   // invalid datetime format
    ("22021", true),   // bytes that are not UTF-8
    ("22P05", true),   // untranslatable character
    ("23502", true),   // NOT NULL without a value (a record without started_at)
    ("54000", true),   // a value too large for an index row
    ("57P01", false),  // admin_shutdown: the server is going down
    ("57P03", false),  // cannot_connect_now: starting up
    ("08006", false),  // connection failure
    ("53100", false),  // disk full
    ("40001", false),  // serialization failure
    ("42501", false),  // insufficient privilege: an operator can grant it
    ("3D000", false),  // no such database
    ("XX000", false),  // internal error
])
func onlyTheRowsFaultsAreDataErrors(_ sqlState: String, _ data: Bool) {
    #expect(PostgresFailure(sqlState: sqlState, message: "").isDataError == data)
}

@Test func noAnswerAtAllIsNotADataError() {
    #expect(!PostgresFailure(sqlState: nil, message: "server closed the connection unexpectedly").isDataError)
}

@Test func migrationsStartAtOneAndTheTableHasItsColumns() {
    #expect(PostgresSchema.version == 1)
    for column in PostgresSchema.insertColumns.map(\.name) + ["seq"] {
        #expect(PostgresSchema.migrations[0].contains("\n    \(column) "), "\(column) in the table")
    }
}
