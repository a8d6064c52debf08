// The TOML reader behind --config, --agents and --prices: the forms those files use, the line of every key (which
// the messages name), and the mistakes it must refuse with the line they are on.
import Testing
@testable import TOML

private func parse(_ text: String) throws -> TOMLTable { try TOMLTable(parsing: text) }

private func failure(_ text: String) -> TOMLError? {
    do {
        _ = try TOMLTable(parsing: text)
        return nil
    } catch {
        return error
    }
}

@Test func keysAndScalarValuesWithTheirLines() throws {
    let table = try parse("""
        # a comment
        listen = "0.0.0.0:8080"   # trailing comment
        upstream-timeout = 300
        ratio = 0.5
        insecure = true
        'literal key' = 'C:\\path'
        "quoted.key" = "tab\\there \\u00e9 \\U0001F600"

        big = 1_000_000
        hex = 0xff
        exp = 1e3
        negative = -7
        """)
    #expect(table.keys == ["listen", "upstream-timeout", "ratio", "insecure", "literal key", "quoted.key", "big", "hex", "exp", "negative"])
    #expect(table["listen"]?.string == "0.0.0.0:8080")
    #expect(table.line(of: "listen") == 2)
    #expect(table["upstream-timeout"]?.int == 300)
    #expect(table["upstream-timeout"]?.double == nil, "an integer is not a float")
    #expect(table["ratio"]?.double == 0.5)
    #expect(table["insecure"]?.bool == true)
    #expect(table["literal key"]?.string == "C:\\path")
    #expect(table["quoted.key"]?.string == "tab\there é 😀")
    #expect(table.line(of: "quoted.key") == 7)
    #expect(table["big"]?.int == 1_000_000)
    #expect(table["hex"]?.int == 255)
    #expect(table["exp"]?.double == 1000)
    #expect(table["negative"]?.int == -7)
    #expect(table.line(of: "negative") == 12)
    #expect(table.line(of: "absent") == 0)
}

@Test func arraysSpanLinesWithCommentsAndATrailingComma() throws {
    let table = try parse("""
        log = [
            "jsonl:/var/log/a.jsonl",  # first
            "sqlite:/var/log/b.sqlite",
        ]
        empty = []
        after = 1
        """)
    #expect(table["log"]?.array?.compactMap(\.string) == ["jsonl:/var/log/a.jsonl", "sqlite:/var/log/b.sqlite"])
    #expect(table["empty"]?.array?.isEmpty == true)
    #expect(table.line(of: "after") == 6)
}

@Test func tablesAndArraysOfTablesKeepTheirHeadersLines() throws {
    let table = try parse("""
        headers = { x-api-key = "env:KEY", "Authorization" = "Bearer ${T}" }

        [[route]]
        prefix = "/a/"
        upstream = "http://127.0.0.1:1"

        [[route]]
        prefix = "/b/"
        headers = { x = "y" }

        [models."claude-sonnet-4-5"]
        input = 3.0
        [models]
        "gpt-4o" = { input = 2.5, output = 10.0 }
        """)
    let headers = try #require(table["headers"]?.table)
    #expect(headers.keys == ["x-api-key", "Authorization"])
    #expect(headers["Authorization"]?.string == "Bearer ${T}")
    let routes = try #require(table["route"]?.array)
    #expect(routes.count == 2)
    #expect(table.line(of: "route") == 3)
    #expect(routes[0].table?.line == 3)
    #expect(routes[1].table?.line == 7)
    #expect(routes[0].table?.line(of: "upstream") == 5)
    #expect(routes[1].table?["headers"]?.table?["x"]?.string == "y")
    let models = try #require(table["models"]?.table)
    #expect(models.keys == ["claude-sonnet-4-5", "gpt-4o"])
    #expect(models.line(of: "claude-sonnet-4-5") == 11)
    #expect(models.line(of: "gpt-4o") == 14)
    #expect(models["gpt-4o"]?.table?["output"]?.double == 10)
    #expect(models["claude-sonnet-4-5"]?.table?.line(of: "input") == 12)
}

@Test func dottedKeysMakeTables() throws {
    let table = try parse("""
        models.m.input = 1.0
        models.m.output = 2.0
        [models.gpt-5.1]
        input = 1
        """)
    let models = try #require(table["models"]?.table)
    #expect(models["m"]?.table?["output"]?.double == 2)
    // An unquoted dot splits the id: models → gpt-5 → 1.
    #expect(models["gpt-5"]?.table?["1"]?.table?["input"]?.int == 1)
    #expect(models["gpt-5"]?.table?.line(of: "1") == 3)
}

@Test func multilineStrings() throws {
    let table = try parse(#"""
        basic = """
        one \
          two"""
        literal = '''
        C:\raw\'''
        quotes = """a "quoted" word"""""
        next = 1
        """#)
    #expect(table["basic"]?.string == "one two")
    #expect(table["literal"]?.string == "C:\\raw\\")
    #expect(table["quotes"]?.string == "a \"quoted\" word\"\"")
    #expect(table.line(of: "next") == 7, "lines inside a multi-line string are counted")
}

@Test func datesAreValuesOfTheirOwn() throws {
    let table = try parse("when = 1979-05-27T07:32:00Z\nday = 1979-05-27\nspaced = 1979-05-27 07:32:00\n")
    #expect(table["when"]?.string == nil)
    guard case .dateTime(let text)? = table["spaced"] else {
        Issue.record("a date-time with a space is one value")
        return
    }
    #expect(text == "1979-05-27 07:32:00")
}

@Test func mistakesAreRefusedWithTheirLine() {
    let cases: [(String, Int, String)] = [
        ("a = 1\na = 2\n", 2, "defined twice"),
        ("[t]\nx = 1\n[t]\n", 3, "defined twice"),
        ("listen = [\n", 2, "expected a value"),
        ("[models.\"m\"\ninput = 3.0\n", 1, "']'"),
        ("a = \"open\nb = 1\n", 1, "unterminated"),
        ("a = soon\n", 1, "not a value"),
        ("a = 1 b = 2\n", 1, "end of the line"),
        ("a = 012\n", 1, "not a value"),
        ("a = 1__0\n", 1, "not a value"),
        ("a = \"\\q\"\n", 1, "escape"),
        ("x = 1\n[x.y]\n", 2, "already a value"),
        ("t = { a = 1 }\n[t]\n", 2, "defined twice"),
        ("r = [1]\n[[r]]\n", 2, "array of tables"),
        ("= 1\n", 1, "expected a key"),
    ]
    for (text, line, words) in cases {
        guard let error = failure(text) else {
            Issue.record("accepted: \(text.debugDescription)")
            continue
        }
        #expect(error.line == line, "\(text.debugDescription): \(error)")
        #expect(error.message.contains(words), "\(text.debugDescription): \(error)")
    }
}

@Test func anEmptyDocumentIsAnEmptyTable() throws {
    #expect(try parse("").keys.isEmpty)
    #expect(try parse("# only a comment\n\n").keys.isEmpty)
}
