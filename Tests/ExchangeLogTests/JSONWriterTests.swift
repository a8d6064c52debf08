// The log's JSON: every string round-trips through a real JSON parser, and bodies are never silently changed.
import ExchangeLog
import Foundation
import Testing

func parse(_ writer: JSONWriter) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(writer.bytes), options: [.fragmentsAllowed])
}

@Test func documentShape() {
    var writer = JSONWriter()
    writer.beginObject()
    writer.key("a"); writer.int(1)
    writer.key("b")
    writer.beginArray()
    writer.bool(true); writer.bool(false); writer.null(); writer.string("x")
    writer.beginObject(); writer.endObject()
    writer.beginArray(); writer.endArray()
    writer.endArray()
    writer.key("c"); writer.beginObject(); writer.key("d"); writer.double(1.5); writer.endObject()
    writer.key("e"); writer.int(-9_223_372_036_854_775_808)
    writer.key("f"); writer.double(.nan)
    writer.key("g"); writer.double(1e-7)
    writer.key("h"); writer.double(100)
    writer.endObject()
    #expect(String(decoding: writer.bytes, as: UTF8.self) ==
        #"{"a":1,"b":[true,false,null,"x",{},[]],"c":{"d":1.5},"e":-9223372036854775808,"f":null,"g":1e-07,"h":100.0}"#)
}

@Test func escapingRoundTrips() throws {
    let controls = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self)
    let samples = [
        "", "plain", "quote \" backslash \\ slash /", controls, "\u{7F} del",
        "line\u{2028}para\u{2029}end", "ünïcödé ☃ 🦊 \u{10FFFF}", "\u{2028}", "tail\u{2029}", "\u{0}",
    ]
    for sample in samples {
        var writer = JSONWriter()
        writer.beginArray()
        writer.string(sample)
        writer.string(bytes: Array(sample.utf8))
        writer.endArray()
        let parsed = try #require(try parse(writer) as? [String])
        #expect(parsed == [sample, sample], "\(sample.debugDescription)")
        let text = String(decoding: writer.bytes, as: UTF8.self)
        // Nothing below U+0020 and no raw U+2028/2029 in the output.
        #expect(!writer.bytes.contains { $0 < 0x20 })
        #expect(!text.contains("\u{2028}") && !text.contains("\u{2029}"))
    }
    var writer = JSONWriter()
    writer.string("\u{1}\u{1F}\n\t\u{2028}")
    #expect(String(decoding: writer.bytes, as: UTF8.self) == #""\u0001\u001f\n\t\u2028""#)
}

@Test func keysAreEscapedToo() throws {
    var writer = JSONWriter()
    writer.beginObject()
    writer.key("we\"ird\nkey")
    writer.string("v")
    writer.endObject()
    let parsed = try #require(try parse(writer) as? [String: String])
    #expect(parsed == ["we\"ird\nkey": "v"])
}

@Test func validUTF8BodyIsAString() throws {
    let body = Array("{\"text\":\"héllo\\n\",\"emoji\":\"🦊\"}\r\n\u{2028}".utf8)
    var writer = JSONWriter()
    BodyEncoding.encode(body, into: &writer)
    let parsed = try #require(try parse(writer) as? String)
    #expect(Array(parsed.utf8) == body)

    var empty = JSONWriter()
    BodyEncoding.encode([], into: &empty)
    #expect(empty.bytes == Array(#""""#.utf8))
}

@Test(arguments: [
    [0xFF, 0xFE] as [UInt8],            // not UTF-8 at all
    [0x61, 0xC0, 0x80],                  // overlong NUL
    [0xED, 0xA0, 0x80],                  // a UTF-16 surrogate
    [0x68, 0x69, 0xE2, 0x82],            // cut mid-character
    [0xF4, 0x90, 0x80, 0x80],            // above U+10FFFF
    [0x1F, 0x8B, 0x08, 0x00, 0x00],      // a gzip header
])
func invalidUTF8BodyIsBase64(body: [UInt8]) throws {
    var writer = JSONWriter()
    BodyEncoding.encode(body, into: &writer)
    let parsed = try #require(try parse(writer) as? [String: String])
    #expect(parsed.keys.sorted() == ["base64"])
    #expect(Data(base64Encoded: try #require(parsed["base64"])) == Data(body))
}

@Test func base64MarkerLiteral() {
    var writer = JSONWriter()
    BodyEncoding.encode([0xFF, 0xFE], into: &writer)
    #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"base64":"//4="}"#)
}

@Test(arguments: [
    Array("plain \"quoted\" \\ \n\r\t\u{08}\u{0C}\u{01}\u{1F} é ☃ 😀 \u{2028}\u{2029} \u{E2}".utf8),
    [0xE2, 0x80], [0xE2, 0x80, 0xA8], [0xC0, 0x80], [0xC2], [0xC2, 0x41], [0xED, 0xA0, 0x80], [0xED, 0x9F, 0xBF],
    [0xE0, 0x9F, 0x80], [0xE0, 0xA0, 0x80], [0xF0, 0x8F, 0x80, 0x80], [0xF0, 0x90, 0x80, 0x80],
    [0xF4, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0x80], [0xBF, 0x41], [0xFF],
    [0x41, 0xE2, 0x80, 0xA9, 0x42], [0xF0, 0x9F, 0x98], [],
] as [[UInt8]])
func validatingStringAgreesWithSwift(_ input: [UInt8]) throws {
    // One pass that validates while escaping must accept exactly what String(validating:) accepts, and write
    // the same JSON as string(_:) does for it; rejected input leaves the document as it was.
    var fused = JSONWriter()
    fused.beginArray()
    fused.int(1)
    let accepted = input.withUnsafeBufferPointer { fused.string(ifValidUTF8: $0) }
    fused.int(2)
    fused.endArray()
    var reference = JSONWriter()
    reference.beginArray()
    reference.int(1)
    let text = String(validating: input, as: UTF8.self)
    if let text { reference.string(text) }
    reference.int(2)
    reference.endArray()
    #expect(accepted == (text != nil))
    #expect(fused.bytes == reference.bytes)
    #expect(try parse(fused) is [Any])
}
