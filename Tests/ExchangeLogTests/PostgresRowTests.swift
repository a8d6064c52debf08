// The PostgreSQL store without a server: which records can be rows, the NUL mending, the insert's text, and which
// failures are the rows' fault. (The columns are computed by PostgreSQL: PostgresSinkTests checks them.)
@testable import ExchangeLog
import Testing

private let full = """
    {"id":"0006453f2b9c81e2a41c00000001","started_at":"2026-11-25T12:34:56.123456Z","client":"127.0.0.1:53422",\
    "method":"POST","path":"/v1/messages","upstream":"http://127.0.0.1:9100","outcome":"complete"}
    """

@Test func kgbsOwnRecordsNeedNoScanAndOthersAreCheckedForAStringId() {
    #expect(PostgresRow.startsWithStringID(Array(full.utf8)))
    #expect(PostgresRow.id(of: Array(full.utf8)) == "0006453f2b9c81e2a41c00000001")
    #expect(PostgresRow.id(of: Array(#"{"method":"GET","id":"later"}"#.utf8)) == "later", "anywhere in the object")
    #expect(!PostgresRow.startsWithStringID(Array(#"{"method":"GET","id":"later"}"#.utf8)))
}

@Test(arguments: ["", "[1]", "null", #"{"id":7}"#, #"{"id":null}"#, #"{"started_at":"x"}"#, #"{"id":"unterminated"#, "not json"])
func withoutAnObjectAndAStringIdThereIsNoRow(_ text: String) {
    #expect(PostgresRow.id(of: Array(text.utf8)) == nil)
}

@Test func nulEscapesBecomeReplacementCharactersAndNothingElseChanges() throws {
    // jsonb cannot hold U+0000; a body with NUL bytes is kept, with U+FFFD in their place.
    let text = #"{"id":"n","response":{"body":"a\u0000b\\u0000c\u00001"},"path":"/\u0000"}"#
    #expect(String(decoding: PostgresRow.storable(Array(text.utf8)), as: UTF8.self)
            == #"{"id":"n","response":{"body":"a\ufffdb\\u0000c\ufffd1"},"path":"/\ufffd"}"#)
    #expect(PostgresRow.storable(Array(#"{"a":"\\"}"#.utf8)) == Array(#"{"a":"\\"}"#.utf8))
    #expect(PostgresRow.storable(Array(#"\u000"#.utf8)) == Array(#"\u000"#.utf8), "cut short: left alone")
}

@Test func theInsertSendsEachRecordAsOneParameterAndSkipsKnownIds() {
    let sql = PostgresSchema.insert(rows: 3)
    #expect(sql.hasPrefix("INSERT INTO kgb_exchanges (id, started_at, method,"))
    #expect(sql.contains("FROM (VALUES ($1::jsonb), ($2::jsonb), ($3::jsonb)) AS v(r)"))
    #expect(!sql.contains("$4"))
    #expect(sql.hasSuffix(" ON CONFLICT (id) DO NOTHING"))
    #expect(PostgresSink.rowsPerStatement < 65_535, "libpq's limit on parameters per statement")
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

@Test func everyInsertedColumnIsMadeByAMigration() {
    #expect(PostgresSchema.version == PostgresSchema.migrations.count)
    for column in PostgresSchema.insertColumns.map(\.name) + ["seq"] {
        let made = PostgresSchema.migrations[0].contains("\n    \(column) ")
            || PostgresSchema.migrations.dropFirst().contains { $0.contains("ADD COLUMN \(column) ") }
        #expect(made, "\(column) in the table")
    }
}
