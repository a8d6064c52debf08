// JSONTree, which reads records back for the OTLP spans and `kgb tail/show` and writes the gen_ai message
// attributes: what it takes and refuses, strings with every escape, numbers kept as written, sorted output.
@testable import ExchangeLog
import Testing

@Test func readsEveryKindOfValue() throws {
    let value = try #require(JSONTree(parsing: #" {"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00","n":-12.5e1,"i":12,"t":true,"f":false,"z":null,"a":[1,[]],"o":{}} "#))
    #expect(value["s"]?.string == "a\"b\\c/d\né😀")
    #expect(value["n"]?.double == -125)
    #expect(value["n"]?.int == -125, "a whole number however it is spelled")
    #expect(value["i"]?.int == 12)
    #expect(JSONTree(parsing: "12.5")?.int == nil)
    #expect(value["t"]?.bool == true && value["f"]?.bool == false)
    #expect(value["z"]?.isNull == true)
    #expect(value["a"]?.array?.count == 2)
    #expect(value["o"]?.object?.isEmpty == true)
    #expect(value["absent"] == nil)
    #expect(value["s"]?["x"] == nil, "a member of a string is nothing")
}

@Test func refusesWhatIsNotJSON() {
    for text in ["", "{", "{\"a\":1,}", "[1,]", "{'a':1}", "01", "1.", ".5", "-", "tru", "\"\u{01}\"", "\"\\x\"", "{} {}",
                 "nan", String(repeating: "[", count: 600) + String(repeating: "]", count: 600)] {
        #expect(JSONTree(parsing: text) == nil, "\(text.prefix(20).debugDescription)")
    }
}

@Test func aLoneSurrogateBecomesTheReplacementCharacter() {
    #expect(JSONTree(parsing: #""\ud800x""#)?.string == "\u{FFFD}x")
}

@Test func writesCompactSortedAndEscaped() throws {
    let value = JSONTree.object(["b": .array([.integer(1), .number("2.50"), .null, .bool(true)]),
                                  "a": .string("line\nquote\" slash/ tab\t \u{1}")])
    #expect(value.text == #"{"a":"line\nquote\" slash/ tab\t \u0001","b":[1,2.50,null,true]}"#)
    // What it writes, it reads back as the same value.
    #expect(JSONTree(parsing: value.text) == value)
}

@Test func anHTTPURLIsTakenApart() throws {
    let plain = try #require(HTTPURL("http://collector.internal:4318/v1/logs?tenant=a#frag"))
    #expect(plain.scheme == "http" && plain.host == "collector.internal" && plain.port == 4318)
    #expect(plain.path == "/v1/logs" && plain.query == "tenant=a" && plain.target == "/v1/logs?tenant=a")
    #expect(plain.hostHeader == "collector.internal:4318")
    let bare = try #require(HTTPURL("HTTPS://user:secret@example.com"))
    #expect(bare.scheme == "https" && bare.host == "example.com" && bare.port == nil && bare.path == "/")
    #expect(bare.hostHeader == "example.com")
    let six = try #require(HTTPURL("http://[::1]:8080/x"))
    #expect(six.host == "::1" && six.port == 8080 && six.hostHeader == "[::1]:8080")
    for text in ["ftp://host/", "http://", "http://:80/", "http://host:port/", "http://host:70000/", "host:80", "http://[::1/"] {
        #expect(HTTPURL(text) == nil, "\(text)")
    }
}

@Test func stringsAreTrimmedOfASCIISpace() {
    #expect(" \t a b \t".trimmingSpaces == "a b")
    #expect("\r\n a \n".trimmingWhitespace == "a")
    #expect("  ".trimmingSpaces == "")
}

@Test func pathsAreMadeAbsoluteAndTheirParentsFound() {
    #expect(FileSystem.parent(of: "/var/log/kgb.jsonl") == "/var/log")
    #expect(FileSystem.parent(of: "kgb.jsonl") == "")
    #expect(FileSystem.parent(of: "/kgb.jsonl") == "/")
    #expect(FileSystem.absolute("/a/./b/../c") == "/a/c")
    #expect(FileSystem.absolute("x").hasSuffix("/x"))
}
