// The PostgreSQL sink and reader against a real server, which scripts/test-postgres.sh (make test-postgres)
// starts for them: KGB_TEST_POSTGRES_URL reaches it, KGB_TEST_PG_SERVER and KGB_TEST_PG_DIR stop and start it.
// Without those variables (a plain `swift test`) the suite is skipped; the free functions at the end need no server.
@testable import ExchangeLog
import Foundation
import Synchronization
import Testing

private let environment = ProcessInfo.processInfo.environment
private let serverURL = environment["KGB_TEST_POSTGRES_URL"]

/// A record shaped like the logger's, with the members the table's columns come from.
private func record(_ id: String, startedAt: String = "2026-11-25T12:34:56.123456Z", model: String = "claude-sonnet-4",
                    agent: String? = "build-bot", session: String = "s-1", body: String = "word0 word1") -> [UInt8] {
    Array("""
        {"id":"\(id)","started_at":"\(startedAt)","client":"127.0.0.1:53422","method":"POST","path":"/v1/messages",\
        "upstream":"http://127.0.0.1:9100","request":{"headers":{"x-api-key":"sha256:4f0c9a1b2d3e"},\
        "body":"{\\"model\\":\\"\(model)\\",\\"messages\\":[]}","body_bytes":34,"truncated":false},\
        "response":{"status":200,"headers":{"content-type":"text/event-stream"},"body":"\(body)","body_bytes":11,\
        "truncated":false,"content_encoding":null},"timing":{"upstream_connect_ms":0.21,"upstream_tls_ms":null,\
        "ttfb_ms":1.9,"first_token_ms":2.3,"total_ms":41.7,"upstream_tls_resumed":null},\
        "agent":{"name":\(agent.map { "\"\($0)\"" } ?? "null"),"key":"sha256:4f0c9a1b2d3e","session":"\(session)",\
        "user_agent":"claude-cli/2.0.14"},"attempts":[{"upstream":"http://127.0.0.1:9100","status":200,"error":null,\
        "ms":41.7}],"outcome":"complete","error":null,"usage":{"model":"\(model)","input_tokens":14,"output_tokens":20,\
        "cache_read_input_tokens":0,"cache_creation_input_tokens":0,"stop_reason":"end_turn"},"cost_usd":0.000342,\
        "sse":{"events":26,"text":"word0 word1"}}
        """.utf8)
}

private func ids(_ prefix: String, _ range: Range<Int>) -> [String] { range.map { "\(prefix)-\($0)" } }

/// Runs the statement on the test server (through the library's own libpq connection, named apart from the sinks').
@discardableResult
private func query(_ url: String, _ sql: String) throws -> [[String?]] {
    let connection = try PostgresConnection(url: url + "?application_name=kgb-tests")
    defer { connection.close() }
    return try connection.execute(sql)
}

/// A new, empty database for one test; its URL.
private func freshDatabase(_ name: String) throws -> String {
    let server = try #require(serverURL)
    try query("\(server)/postgres", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    try query("\(server)/postgres", "CREATE DATABASE \(name)")
    return "\(server)/\(name)"
}

private func count(_ url: String, _ table: String = "kgb_exchanges") throws -> Int {
    Int(try query(url, "SELECT count(*) FROM \(table)")[0][0]!)!
}

/// The test server's `postgres-server.sh stop|start`. posix_spawn and waitpid rather than Foundation's Process,
/// whose waitUntilExit here once missed the exit of a child that had started the server's daemon.
private func server(_ command: String) throws {
    let arguments = ["/bin/bash", try #require(environment["KGB_TEST_PG_SERVER"]), command,
                     try #require(environment["KGB_TEST_PG_DIR"])]
    let argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    try #require(posix_spawn(&pid, "/bin/bash", nil, nil, argv, environ) == 0)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    #expect(status == 0, "postgres-server.sh \(command)")
}

private func failure(_ body: () throws(DeliveryFailure) -> Void) -> DeliveryFailure? {
    do { try body() } catch { return error }
    return nil
}

@Suite(.serialized, .enabled(if: serverURL != nil, "needs a server: make test-postgres (scripts/test-postgres.sh)"))
struct PostgresSinkTests {
    @Test func theFirstDeliveryCreatesTheSchemaAndNotBefore() throws {
        let url = try freshDatabase("kgb_schema")
        let sink = try PostgresSink(url: url)
        defer { sink.close() }
        #expect(try query(url, "SELECT to_regclass('kgb_exchanges') IS NULL") == [["t"]], "init does not connect")
        try sink.deliver([record("s-1"), record("s-2")])
        #expect(try query(url, "SELECT version FROM kgb_schema_version ORDER BY 1") == [["1"], ["2"]])
        let columns = try query(url, """
            SELECT column_name || ' ' || data_type FROM information_schema.columns
            WHERE table_name = 'kgb_exchanges' ORDER BY ordinal_position
            """).map { $0[0]! }
        #expect(columns == ["id text", "seq bigint", "started_at timestamp with time zone", "method text", "path text",
                            "upstream text", "status integer", "outcome text", "model text", "input_tokens bigint",
                            "output_tokens bigint", "total_ms double precision", "ttfb_ms double precision",
                            "cost_usd numeric", "agent text", "record jsonb", "session text",
                            "first_token_ms double precision"])
        let indexes = try query(url, "SELECT indexname FROM pg_indexes WHERE tablename = 'kgb_exchanges' ORDER BY 1").map { $0[0]! }
        #expect(indexes == ["kgb_exchanges_agent", "kgb_exchanges_model", "kgb_exchanges_outcome", "kgb_exchanges_pkey",
                            "kgb_exchanges_seq_key", "kgb_exchanges_session", "kgb_exchanges_started_at",
                            "kgb_exchanges_status", "kgb_exchanges_upstream"])
        // The connection is named, so an operator can tell kgb's sessions apart in pg_stat_activity (the URL's
        // application_name wins, as the tests' own connections show).
        #expect(try query(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'kgb' AND datname = current_database()")
                == [["1"]])
        // A new sink (a restart) finds the schema in place and migrates nothing.
        let again = try PostgresSink(url: url)
        try again.deliver([record("s-3")])
        again.close()
        #expect(try count(url, "kgb_schema_version") == PostgresSchema.version)
        #expect(try count(url) == 3)
    }

    @Test func aBatchIsStoredColumnByColumn() throws {
        let url = try freshDatabase("kgb_columns")
        let sink = try PostgresSink(url: url)
        defer { sink.close() }
        let sparse = Array(#"{"id":"c-2","started_at":"2026-11-25T13:00:00+01:00","method":null,"path":"/x","upstream":"","response":{"status":400},"outcome":"rejected","cost_usd":null}"#.utf8)
        try sink.deliver([record("c-1", model: "claude-haiku-4", agent: "build-bot"), sparse])
        let rows = try query(url, """
            SELECT id, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), method, path, upstream,
                   status, outcome, model, input_tokens, output_tokens, total_ms, ttfb_ms, cost_usd, agent,
                   record->'usage'->>'stop_reason', record->>'id'
            FROM kgb_exchanges ORDER BY id
            """)
        #expect(rows == [
            ["c-1", "2026-11-25T12:34:56.123456", "POST", "/v1/messages", "http://127.0.0.1:9100", "200", "complete",
             "claude-haiku-4", "14", "20", "41.7", "1.9", "0.000342", "build-bot", "end_turn", "c-1"],
            ["c-2", "2026-11-25T12:00:00.000000", nil, "/x", "", "400", "rejected", nil, nil, nil, nil, nil, nil, nil,
             nil, "c-2"],
        ])
        // The whole record is there: what kgb show prints comes from it.
        #expect(try query(url, "SELECT record->'sse'->>'text', (record->'response'->>'body_bytes')::int FROM kgb_exchanges WHERE id = 'c-1'")
                == [["word0 word1", "11"]])
    }

    @Test func absentNullMistypedAndOutOfRangeMembersAreNullColumns() throws {
        // PostgreSQL computes the columns from the record; these are the cases a record could hold.
        let url = try freshDatabase("kgb_mapping")
        let sink = try PostgresSink(url: url)
        defer { sink.close() }
        let texts = [
            #"{"id":"m-1","started_at":"2026-11-25T12:00:00Z","path":"/v1/messages?beta=\"yes\"&q=caf\u00e9","outcome":"first","outcome":"second"}"#,
            #"{"id":"m-2","started_at":"2026-11-25T12:00:00Z","method":7,"response":{"status":"200"},"usage":"none","timing":{"total_ms":"slow","ttfb_ms":true},"agent":"bot","cost_usd":"0.1","outcome":{"x":1}}"#,
            #"{"id":"m-3","started_at":"2026-11-25T12:00:00Z","response":{"status":4294967296},"usage":{"input_tokens":12.0,"output_tokens":1.5},"timing":{"total_ms":1e400,"ttfb_ms":-0.5e-3},"cost_usd":1e-9}"#,
            #"{"id":"m-4","started_at":"2026-11-25T12:00:00Z","method":null,"upstream":"","response":{"status":400},"agent":{"name":null}}"#,
        ]
        try sink.deliver(texts.map { Array($0.utf8) })
        let rows = try query(url, """
            SELECT id, method, path, upstream, status, outcome, model, input_tokens, output_tokens, total_ms, ttfb_ms,
                   cost_usd, agent FROM kgb_exchanges ORDER BY id
            """)
        #expect(rows == [
            ["m-1", nil, "/v1/messages?beta=\"yes\"&q=café", nil, nil, "second", nil, nil, nil, nil, nil, nil, nil],
            ["m-2", nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil],
            ["m-3", nil, nil, nil, nil, nil, nil, "12", nil, nil, "-0.0005", "0.000000001", nil],
            ["m-4", nil, nil, "", "400", nil, nil, nil, nil, nil, nil, nil, nil],
        ], "escapes decoded, the last of repeated keys, other types and numbers that do not fit as NULL")
    }

    @Test func aReplayStoresNothingTwice() throws {
        let url = try freshDatabase("kgb_replay")
        let sink = try PostgresSink(url: url)
        defer { sink.close() }
        let batch = ids("r", 0..<100).map { record($0) }
        try sink.deliver(batch)
        try sink.deliver(batch)
        // Half old, half new; and one id twice in the same batch.
        try sink.deliver(ids("r", 50..<150).map { record($0) } + [record("r-149")])
        #expect(try count(url) == 150)
        // A batch larger than one statement: several INSERTs in one transaction.
        let large = ids("big", 0..<(PostgresSink.rowsPerStatement * 2 + 7)).map { record($0) }
        try sink.deliver(large)
        try sink.deliver(large)
        #expect(try count(url) == 150 + large.count)
    }

    @Test func twoInstancesDeliverAtOnceIntoOneDatabase() throws {
        // Both start against an empty database, so both migrate at once, then insert overlapping batches.
        let url = try freshDatabase("kgb_two")
        let sinks = [try PostgresSink(url: url), try PostgresSink(url: url)]
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { instance in
            for batch in 0..<20 {
                // Instance 0 sends ids 0..<25 of each batch, instance 1 ids 12..<37: 12 overlap in every batch.
                let records = ids("t\(batch)", (instance * 12)..<(instance * 12 + 25)).map { record($0) }
                do { try sinks[instance].deliver(records) } catch { errors.withLock { $0.append("\(error)") } }
            }
        }
        sinks.forEach { $0.close() }
        #expect(errors.withLock { $0 } == [])
        #expect(try count(url) == 20 * 37)
        #expect(try count(url, "kgb_schema_version") == PostgresSchema.version)
    }

    @Test func aBadRecordIsRefusedAloneAndTheOthersAreStored() throws {
        let url = try freshDatabase("kgb_reject")
        let sink = try PostgresSink(url: url)
        defer { sink.close() }
        let batch: [[UInt8]] = [
            record("ok-1"),
            Array(#"{"id":"bad-json","started_at":"2026-11-25T12:00:00Z","x":nope}"#.utf8),  // jsonb refuses it
            record("ok-2", body: #"before\u0000after"#),  // a NUL in a body: stored, as U+FFFD
            Array(#"{"id":"bad-time","started_at":"yesterday-ish"}"#.utf8),
            Array("[1,2]".utf8),
            record("ok-3"),
        ]
        for _ in 0..<2 {  // and again: the stored ones are skipped, the refused ones refused again
            let refused = try #require(failure { () throws(DeliveryFailure) in try sink.deliver(batch) })
            #expect(refused.kind == .reject)
            #expect(refused.message.contains("3 of 6 records refused"), "\(refused.message)")
            #expect(refused.message.contains("the other 3 are stored"))
            for reason in ["record 5 of the batch is not a JSON object", "record bad-json: invalid input syntax for type json",
                           "record bad-time: invalid input syntax for type timestamp with time zone"] {
                #expect(refused.message.contains(reason), "\(refused.message)")
            }
        }
        #expect(try query(url, "SELECT id FROM kgb_exchanges ORDER BY id").map { $0[0]! } == ["ok-1", "ok-2", "ok-3"])
        #expect(try query(url, "SELECT record->'response'->>'body' FROM kgb_exchanges WHERE id = 'ok-2'") == [["before\u{FFFD}after"]])
        // Nothing of the failure stays on the connection: the next batch goes in.
        try sink.deliver([record("ok-4")])
        #expect(try count(url) == 4)
    }

    @Test func aPasswordFromPGPASSWORDWorksAndItsAbsenceIsARetry() throws {
        let url = try freshDatabase("kgb_password")
        let withoutPassword = url.replacingOccurrences(of: ":kgb-test@", with: "@")
        #expect(withoutPassword != url)
        let sink = try PostgresSink(url: withoutPassword)
        defer { sink.close() }
        let refused = try #require(failure { () throws(DeliveryFailure) in try sink.deliver([record("p-1")]) })
        #expect(refused.kind == .retry(afterSeconds: nil))
        #expect(refused.message.contains("password"), "\(refused.message)")
        setenv("PGPASSWORD", "kgb-test", 1)
        defer { unsetenv("PGPASSWORD") }
        try sink.deliver([record("p-1")])
        #expect(try count(url) == 1)
    }

    @Test func aRoleThatMayOnlyInsertAndSelectWritesOnceTheSchemaIsThere() throws {
        let url = try freshDatabase("kgb_grants")
        try query(url, """
            DO $$ BEGIN CREATE ROLE kgb_writer LOGIN PASSWORD 'writer'; EXCEPTION WHEN duplicate_object THEN NULL; END $$
            """)
        let writerURL = url.replacingOccurrences(of: "//kgb:kgb-test@", with: "//kgb_writer:writer@")
        let writer = try PostgresSink(url: writerURL)
        defer { writer.close() }
        // Before an administrator (or a kgb with the right) has migrated: a retry naming the missing right.
        let refused = try #require(failure { () throws(DeliveryFailure) in try writer.deliver([record("g-1")]) })
        #expect(refused.kind == .retry(afterSeconds: nil))
        #expect(refused.message.contains("permission denied"), "\(refused.message)")
        let owner = try PostgresSink(url: url)
        try owner.deliver([record("g-0")])
        owner.close()
        try query(url, "GRANT SELECT, INSERT ON kgb_exchanges TO kgb_writer; GRANT SELECT ON kgb_schema_version TO kgb_writer")
        try writer.deliver([record("g-1"), record("g-0")])
        #expect(try count(url) == 2)
    }

    @Test func aDatabaseMigratedByANewerKgbIsLeftAloneAndRecordsWait() throws {
        let url = try freshDatabase("kgb_newer")
        let sink = try PostgresSink(url: url)
        defer { sink.close() }
        try sink.deliver([record("v-1")])
        try query(url, "INSERT INTO kgb_schema_version (version) VALUES (\(PostgresSchema.version + 1))")
        sink.close()  // the next delivery connects, and so migrates, again
        let refused = try #require(failure { () throws(DeliveryFailure) in try sink.deliver([record("v-2")]) })
        #expect(refused.kind == .retry(afterSeconds: nil))
        #expect(refused.message.contains("newer than this kgb's (\(PostgresSchema.version)): upgrade kgb"), "\(refused.message)")
        #expect(try count(url) == 1)
    }

    @Test func whileTheServerIsDownDeliveriesRetryAndResumeWhenItIsBack() throws {
        let url = try freshDatabase("kgb_outage")
        let sink = try PostgresSink(url: url)
        defer { sink.close() }
        try sink.deliver([record("o-1")])
        let reader = try LogStoreReader(.postgres(url: url))
        #expect(try reader.newest(10).count == 1)

        try server("stop")
        var restarted = false
        defer { if !restarted { try? server("start") } }
        let clock = ContinuousClock()
        let started = clock.now
        let refused = try #require(failure { () throws(DeliveryFailure) in try sink.deliver([record("o-2")]) })
        #expect(refused.kind == .retry(afterSeconds: nil), "\(refused.message)")
        #expect(clock.now - started < .seconds(6), "bounded by the connect timeout")
        // Again (the connection was dropped: this one is a fresh attempt), and a sink made while the server is
        // down, as kgb starting during an outage does.
        #expect(failure { () throws(DeliveryFailure) in try sink.deliver([record("o-2")]) }?.kind == .retry(afterSeconds: nil))
        let late = try PostgresSink(url: url)
        defer { late.close() }
        #expect(failure { () throws(DeliveryFailure) in try late.deliver([record("o-3")]) }?.kind == .retry(afterSeconds: nil))
        #expect(reader.next() == [], "the reader waits too")

        try server("start")
        restarted = true
        try sink.deliver([record("o-2")])
        try late.deliver([record("o-3")])
        #expect(try count(url) == 3)
        // The reader reconnects and sees what arrived meanwhile.
        var seen: [String] = []
        for _ in 0..<20 where seen.count < 2 {
            seen += reader.next()
            if seen.count < 2 { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(seen.compactMap { recordID($0) } == ["o-2", "o-3"])
    }

    @Test func theReaderShowsTheNewestThenFollowsArrivalsInOrder() throws {
        let url = try freshDatabase("kgb_reader")
        let sink = try PostgresSink(url: url)
        defer { sink.close() }
        try sink.deliver((1...5).map { record("e-\($0)", startedAt: "2026-11-25T12:00:0\($0)Z", agent: $0 % 2 == 0 ? "even" : "odd",
                                              session: "s\($0)") })
        let reader = try LogStoreReader(.postgres(url: url))
        #expect(try reader.newest(3).compactMap { recordID($0) } == ["e-3", "e-4", "e-5"])
        #expect(try reader.newest(10, agent: "even").compactMap { recordID($0) } == ["e-2", "e-4"])
        #expect(try reader.newest(10, session: "s3").compactMap { recordID($0) } == ["e-3"])
        #expect(try reader.newest(0) == [])
        #expect(reader.next() == [])
        // A record that started before all the others but arrives now (a long stream, or the spool after an
        // outage) is new to a follower; a replay of a stored one is not.
        try sink.deliver([record("e-0", startedAt: "2026-11-25T11:00:00Z"), record("e-2")])
        #expect(reader.next().compactMap { recordID($0) } == ["e-0"])
        #expect(reader.next() == [])
        #expect(reader.find(id: "e-4").compactMap { recordID($0) } == ["e-4"])
        #expect(reader.find(id: "nope") == [])
    }

    @Test func aDatabaseWithoutTheTableIsNamedAsSuch() throws {
        let url = try freshDatabase("kgb_empty")
        #expect { try LogStoreReader(.postgres(url: url)) } throws: { error in
            "\(error)".contains("no kgb_exchanges table") && !"\(error)".contains("kgb-test")
        }
    }
}

/// A record's id, read with Foundation (PostgreSQL gives records back as jsonb text: its own key order and spacing).
private func recordID(_ json: String) -> String? {
    (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["id"] as? String
}

// MARK: Without a server

@Test func theNameHidesThePasswordAndABadURLIsRefusedAtOnce() throws {
    let sink = try PostgresSink(url: "postgres://kgb:secret@db.example:5433/logs?sslmode=require")
    #expect(sink.name == "postgres://kgb:***@db.example:5433/logs?sslmode=require")
    #expect { try PostgresSink(url: "postgresql://h/db?no_such_option=1") } throws: { error in
        "\(error)".contains("no_such_option")
    }
}

@Test func aServerThatIsNotThereIsARetryAndAnEmptyBatchNeedsNoServer() throws {
    // Port 1 on this host: nothing listens, the connection is refused at once.
    let sink = try PostgresSink(url: "postgres://kgb:secret@127.0.0.1:1/logs")
    try sink.deliver([])
    let refused = try #require(failure { () throws(DeliveryFailure) in try sink.deliver([record("x")]) })
    #expect(refused.kind == .retry(afterSeconds: nil))
    #expect(refused.message.hasPrefix("postgres://kgb:***@127.0.0.1:1/logs: "))
    #expect(!refused.message.contains("secret") && !refused.message.contains("\n"))
}

@Test func aServerThatNeverAnswersIsARetryWithinTheConnectTimeout() throws {
    // A socket that listens but never accepts: the kernel completes the TCP handshake, then libpq waits for an
    // answer to its start-up message that never comes. The URL's connect_timeout (2 s) wins over kgb's (5 s).
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(listener) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) { pointer in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            try #require(bind(listener, $0, length) == 0 && listen(listener, 8) == 0 && getsockname(listener, $0, &length) == 0)
        }
    }
    let port = UInt16(bigEndian: address.sin_port)
    let sink = try PostgresSink(url: "postgres://kgb@127.0.0.1:\(port)/logs?connect_timeout=2")
    let clock = ContinuousClock()
    let started = clock.now
    let refused = try #require(failure { () throws(DeliveryFailure) in try sink.deliver([record("x")]) })
    let elapsed = clock.now - started
    #expect(refused.kind == .retry(afterSeconds: nil))
    #expect(elapsed >= .milliseconds(1_500) && elapsed < .seconds(4), "\(elapsed)")
}
