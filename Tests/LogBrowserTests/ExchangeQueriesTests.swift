// The pages' queries against a real SQLite database of the store's schema (in memory), filled with records the
// way the sink fills it: paging by cursor, each filter, the bounded text search, sessions, the overview's sums and
// percentiles.
import Foundation
import ExchangeLog
@testable import LogBrowser
import Testing

private let base = ISOTime.seconds("2026-11-30T00:00:00Z")!

/// Records one minute apart (the newest last), agents a/b alternating, every tenth failed, `needle` in one body.
private func store(count: Int, needle: (index: Int, text: String)? = nil) throws -> SQLiteBrowseStore {
    let store = try SQLiteBrowseStore.inMemory()
    _ = try store.rows("BEGIN", [])
    for index in 0..<count {
        let time = ISOTime.text(base + Double(index) * 60)
        let body = needle?.index == index ? needle!.text : "hello \(index)"
        let record = """
            {"id":"id\(1000 + index)","started_at":"\(time)","method":"POST","path":"/v1/messages","upstream":"http://u\(index % 3)",\
            "request":{"headers":{},"body":"\(body)"},"response":{"status":\(index % 10 == 9 ? 529 : 200)},\
            "timing":{"ttfb_ms":\(index),"first_token_ms":\(index + 1),"total_ms":\(index + 2)},\
            "agent":{"name":"\(index % 2 == 0 ? "a" : "b")","session":"s\(index / 4)"},"outcome":"complete",\
            "usage":{"model":"m\(index % 2)","input_tokens":10,"output_tokens":\(index)},"cost_usd":0.5}
            """
        var line = record
        let inserted = line.withUTF8 { store.execute(ExchangeLog.SQLiteSchema.insert, UnsafeRawBufferPointer($0)) }
        #expect(inserted)
    }
    _ = try store.rows("COMMIT", [])
    return store
}

private func list(_ store: SQLiteBrowseStore, _ query: String) throws -> (ids: [String], next: String?, searchedTo: String?) {
    let json = try ExchangeQueries(store: store).exchanges(try ExchangeFilter(RequestTarget("/api/exchanges?" + query)))
    let text = String(decoding: json, as: UTF8.self)
    let ids = text.matches(of: /\["(id\d+)"/).map { String($0.output.1) }
    func member(_ name: String) -> String? {
        guard let range = text.range(of: "\"\(name)\":\"") else { return nil }
        return String(text[range.upperBound...].prefix { $0 != "\"" })
    }
    return (ids, member("next"), member("searched_to"))
}

@Test func pagesAreNewestFirstAndTheCursorContinuesWhereThePageEnded() throws {
    let store = try store(count: 120)
    let first = try list(store, "")
    #expect(first.ids.count == 50 && first.ids.first == "id1119" && first.ids.last == "id1070")
    let cursor = try #require(first.next)
    let second = try list(store, "before=" + cursor.replacingOccurrences(of: "|", with: "%7C"))
    #expect(second.ids.first == "id1069" && second.ids.count == 50)
    let third = try list(store, "before=" + second.next!.replacingOccurrences(of: "|", with: "%7C"))
    #expect(third.ids.count == 20 && third.next == nil)
}

@Test func eachFilterNarrowsTheList() throws {
    let store = try store(count: 40)
    #expect(try list(store, "agent=a").ids.allSatisfy { Int($0.dropFirst(2))! % 2 == 0 })
    #expect(try list(store, "agent=a").ids.count == 20)
    #expect(try list(store, "session=s3").ids == ["id1015", "id1014", "id1013", "id1012"])
    #expect(try list(store, "model=m1").ids.count == 20)
    #expect(try list(store, "status=529").ids == ["id1039", "id1029", "id1019", "id1009"])
    #expect(try list(store, "status=5xx").ids.count == 4)
    #expect(try list(store, "status=2xx").ids.count == 36)
    #expect(try list(store, "upstream=http%3A%2F%2Fu1").ids.count == 13)
    #expect(try list(store, "from=2026-11-30T00:30:00Z&to=2026-11-30T00:35").ids == ["id1034", "id1033", "id1032", "id1031", "id1030"])
    #expect(try list(store, "outcome=rejected").ids.isEmpty)
}

@Test func aBadFilterIsAnInputErrorNamingIt() {
    for (query, name) in [("status=abc", "status"), ("status=6xx", "status"), ("from=yesterday", "from"), ("before=x", "before")] {
        #expect {
            _ = try ExchangeFilter(RequestTarget("/api/exchanges?" + query))
        } throws: { error in
            guard let error = error as? BrowseError else { return false }
            return error.isInput && error.description.hasPrefix(name)
        }
    }
}

@Test func textSearchFindsARecordAnywhereIgnoringCaseAndEscapedAsInTheRecord() throws {
    let store = try store(count: 5_000, needle: (17, #"say \"Zebra\" now"#))
    let found = try list(store, "q=" + "say%20%22zebra%22")
    #expect(found.ids == ["id1017"])
    #expect(found.next == nil && found.searchedTo == nil, "the whole store was searched")
    #expect(try list(store, "q=HELLO%204999").ids == ["id5999"])
}

@Test func aSearchThatRunsOutOfTimeSaysHowFarBackItLookedAndResumesThere() throws {
    let window = ExchangeQueries.searchWindow
    let store = try store(count: 2 * window + 500, needle: (5, "needle"))
    let queries = ExchangeQueries(store: store)
    // A budget already spent: one window searched, then the cursor where the next page resumes.
    func page(_ query: String) throws -> String {
        String(decoding: try queries.exchanges(try ExchangeFilter(RequestTarget("/api/exchanges?" + query)), budgetSeconds: 0),
               as: UTF8.self)
    }
    func edge(_ index: Int) -> String { ISOTime.text(base + Double(index) * 60) }
    let first = try page("q=needle")
    #expect(first.contains("\"rows\":[]") && first.contains("\"searched_to\":\"\(edge(window + 500))\""))
    #expect(first.contains("\"next\":\"\(edge(window + 500))|id\(1000 + window + 500)\""))
    let second = try page("q=needle&before=\(edge(window + 500))%7Cid\(1000 + window + 500)")
    #expect(second.contains("\"searched_to\":\"\(edge(500))\""))
    let third = try page("q=needle&before=\(edge(500))%7Cid1500")
    #expect(third.contains("[\"id1005\"") && third.contains("\"next\":null"), "the last stretch, in one go")
}

@Test func aSessionIsItsExchangesInOrder() throws {
    let store = try store(count: 12)
    let text = String(decoding: try ExchangeQueries(store: store).session(id: "s1"), as: UTF8.self)
    let ids = text.split(separator: "\"id\":\"").dropFirst().map { String($0.prefix(6)) }
    #expect(ids == ["id1004", "id1005", "id1006", "id1007"])
    #expect(text.hasSuffix("\"truncated\":false}"))
}

@Test func theOverviewSumsPerAgentAndComputesPercentilesInTheStore() throws {
    let store = try store(count: 100)
    let text = String(decoding: try ExchangeQueries(store: store).overview(
        from: "2026-11-30T00:00:00.000000Z", to: "2026-11-30T02:00:00.000000Z", bucket: .hour), as: UTF8.self)
    // Hour 00: records 0-59; agent a (even) uses model m0: output tokens 0+2+...+58 = 870; b (odd, m1) has the
    // three that failed with a 529 (9, 29, 49; 19, 39 and 59 too: every tenth from 9).
    #expect(text.contains(#"["2026-11-30T00","a","m0","complete",30,300,870,15.0,0]"#))
    #expect(text.contains(#"["2026-11-30T00","b","m1","complete",30,300,900,15.0,6]"#))
    // TTFB of hour 01 is 60...99: p50 = 79.5 (interpolated as percentile_cont does).
    #expect(text.contains(#"["2026-11-30T01",40,79.5,"#))
}

@Test func percentilesInterpolateAsPostgreSQLDoes() {
    let samples = Samples()
    samples.values = [4, 1, 3, 2]
    samples.fraction = 0.5
    #expect(samples.percentile == 2.5)
    samples.fraction = 0.9
    #expect(abs(samples.percentile! - 3.7) < 1e-9)
    samples.values = []
    #expect(samples.percentile == nil)
}
