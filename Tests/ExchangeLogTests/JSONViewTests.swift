// JSONView (bytes checked in place), the logger's only JSON reader: what it accepts and refuses, and that it reads
// every field as JSONTree (the records' reader) does wherever both accept the document.
@testable import ExchangeLog
import Testing

private let accepted: [String] = [
    #"{"type":"message_start","message":{"model":"m","usage":{"input_tokens":3,"output_tokens":1}}}"#,
    #"{"a":1,"a":2}"#, #"{"a":[1,2,],}"#, #"{ "k" : "v\u00e9\n\"" , "n": -1.5e3 }"#, #"{"s":"\ud83d\ude00"}"#,
    #"{"t\u0079pe":"x"}"#, "{\"raw\":\"é\"}", "[1,2]", "\"text\"", "12", "true", " null ",
    "{\"a\":\"\u{FFFD}\"}",
]

private let refused: [String] = [
    #"{"a":}"#, #"{"a":1"#, #"{"a":01}"#, #"{"a":"\ud800"}"#, #"{"a":"\udc00"}"#, #"{"a":"\x"}"#, "{\"a\":\"\u{1}\"}",
    #"{"a":1}x"#, #"{"a":-}"#, #"{"a":1.}"#, #"{"a":1e}"#, #"{,}"#, #"[,]"#, "",
]

private func withView<T>(_ text: String, _ body: (JSONView?) -> T) -> T {
    Array(text.utf8).withUnsafeBytes { body(JSONView.validated($0)) }
}

@Test(arguments: accepted)
func viewReadsAsTheTreeDoes(_ text: String) {
    withView(text) { view in
        #expect(view != nil, "\(text)")
        // JSONTree refuses the trailing commas JSONView takes; everything else they must read alike.
        guard let view, let tree = JSONTree(parsing: text) else { return }
        for key in ["type", "a", "k", "n", "s", "raw", "message"] {
            #expect(view[key]?.stringValue == tree[key]?.string, "\(text) \(key)")
            #expect(view[key]?.int == tree[key]?.int, "\(text) \(key)")
            #expect(view[key]?.arrayValue?.count == tree[key]?.array?.count, "\(text) \(key)")
        }
    }
}

@Test func viewReadsTheFields() {
    withView(accepted[0]) { view in
        var usage = Usage()
        if let message = view?["message"] { APIShapes.anthropicMessage(message, into: &usage) }
        #expect(usage.model == "m" && usage.inputTokens == 3 && usage.outputTokens == 1)
    }
    withView(#"{"a":1,"a":2}"#) { #expect($0?["a"]?.int == 2, "a key given twice: the last one counts") }
    withView(#"{"a":[1,2,],}"#) { #expect($0?["a"]?.arrayValue?.count == 2, "a comma before a closing bracket") }
    withView(#"{ "k" : "v\u00e9\n\"" , "n": -1.5e3 }"#) { #expect($0?["k"]?.stringValue == "vé\n\"" && $0?["n"]?.int == -1500) }
    withView(#"{"s":"\ud83d\ude00"}"#) { #expect($0?["s"]?.stringValue == "😀") }
    withView(#"{"t\u0079pe":"x"}"#) { #expect($0?["type"]?.stringValue == "x") }
}

@Test(arguments: refused)
func viewRefusesWhatIsNotJSON(_ text: String) {
    withView(text) { #expect($0 == nil, "\(text)") }
}

@Test func invalidUTF8IsRefused() {
    for bytes: [UInt8] in [[0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]] {
        #expect(bytes.withUnsafeBytes { JSONView.validated($0) } == nil)
    }
}
