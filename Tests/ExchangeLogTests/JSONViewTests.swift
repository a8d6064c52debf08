// JSONView (bytes checked in place) must accept exactly what JSONValue parses, and read the same fields.
@testable import ExchangeLog
import Testing

private let documents: [String] = [
    #"{"type":"message_start","message":{"model":"m","usage":{"input_tokens":3,"output_tokens":1}}}"#,
    #"{"a":1,"a":2}"#, #"{"a":[1,2,],}"#, #"{ "k" : "v\u00e9\n\"" , "n": -1.5e3 }"#, #"{"s":"\ud83d\ude00"}"#,
    #"{"t\u0079pe":"x"}"#, "{\"raw\":\"é\"}", "[1,2]", "\"text\"", "12", "true", " null ",
    // Refused by both:
    #"{"a":}"#, #"{"a":1"#, #"{"a":01}"#, #"{"a":"\ud800"}"#, #"{"a":"\udc00"}"#, #"{"a":"\x"}"#, "{\"a\":\"\u{1}\"}",
    #"{"a":1}x"#, "{\"a\":\"\u{FFFD}\"}", #"{"a":-}"#, #"{"a":1.}"#, #"{"a":1e}"#, #"{,}"#, #"[,]"#, "",
]

@Test(arguments: documents)
func viewAcceptsWhatTheParserAccepts(_ text: String) {
    let bytes = Array(text.utf8)
    let tree = JSONValue.parse(bytes)
    bytes.withUnsafeBytes { raw in
        let view = JSONView.validated(raw)
        #expect((view != nil) == (tree != nil), "\(text)")
        guard let view, let tree else { return }
        for key in ["type", "a", "k", "n", "s", "raw", "message"] {
            #expect(view[key]?.stringValue == tree[key]?.stringValue, "\(text) \(key)")
            #expect(view[key]?.int == tree[key]?.int, "\(text) \(key)")
            #expect(view[key]?.arrayValue?.count == tree[key]?.arrayValue?.count, "\(text) \(key)")
        }
        var fromView = Usage(), fromTree = Usage()
        if let message = view["message"] { APIShapes.anthropicMessage(message, into: &fromView) }
        if let message = tree["message"] { APIShapes.anthropicMessage(message, into: &fromTree) }
        #expect(fromView == fromTree)
    }
}

@Test func invalidUTF8IsRefusedByBoth() {
    for bytes: [UInt8] in [[0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]] {
        let tree = JSONValue.parse(bytes)
        let view = bytes.withUnsafeBytes { JSONView.validated($0) }
        #expect(tree == nil && view == nil)
    }
}
