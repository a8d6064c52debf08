// The common event of a stream is a text delta, thousands per answer; parsing each with JSONSerialization
// kept the logger near 40 MB/s. This reads the two common shapes directly and answers nil for anything else,
// so the full parser still handles every other event and every unusual spelling.

enum DeltaFastPath {
    private static let anthropicPrefix = Array(#"{"type":"content_block_delta","index":"#.utf8)
    private static let anthropicText = Array(#""delta":{"type":"text_delta","text":""#.utf8)
    private static let openAIContent = Array(#""delta":{"content":""#.utf8)
    private static let openAIRest = Array(#"},"logprobs":null,"finish_reason":null}]}"#.utf8)
    private static let openAIRestShort = Array(#"},"finish_reason":null}]}"#.utf8)

    /// `{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"…"}}` → the text.
    static func anthropicTextDelta(_ data: [UInt8]) -> String? {
        guard data.starts(with: anthropicPrefix), let start = find(anthropicText, in: data, from: anthropicPrefix.count)
        else { return nil }
        guard let (text, end) = jsonString(data, from: start + anthropicText.count) else { return nil }
        return data[end...].elementsEqual("}}".utf8) ? text : nil
    }

    /// An OpenAI chunk whose only choice carries `"delta":{"content":"…"}` and no finish reason, usage or
    /// tool calls → the content. Only used once the model is known (the fast path does not read it).
    static func openAIContentDelta(_ data: [UInt8]) -> String? {
        guard data.starts(with: #"{"id":"#.utf8), let start = find(openAIContent, in: data, from: 0) else { return nil }
        // Exactly one choice and nothing after it but the closing brackets.
        guard find(openAIContent, in: data, from: start + 1) == nil,
              let (text, end) = jsonString(data, from: start + openAIContent.count) else { return nil }
        let rest = data[end...]
        return rest.elementsEqual(openAIRest) || rest.elementsEqual(openAIRestShort) ? text : nil
    }

    private static func find(_ needle: [UInt8], in data: [UInt8], from: Int) -> Int? {
        guard needle.count <= data.count else { return nil }
        var index = from
        while index + needle.count <= data.count {
            if data[index] == needle[0] && data[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    /// Decodes a JSON string body starting just after its opening quote; returns it and the index after the
    /// closing quote. nil on anything malformed (the slow path then decides).
    static func jsonString(_ data: [UInt8], from start: Int) -> (String, Int)? {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var index = start
        while index < data.count {
            let byte = data[index]
            if byte == UInt8(ascii: "\"") {
                guard let text = String(validating: out, as: UTF8.self) else { return nil }
                return (text, index + 1)
            }
            if byte < 0x20 { return nil }
            if byte != UInt8(ascii: "\\") {
                out.append(byte)
                index += 1
                continue
            }
            guard index + 1 < data.count else { return nil }
            let escape = data[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(data, index) else { return nil }
                index += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    // A surrogate pair: the low half must follow as another \u escape.
                    guard index + 6 <= data.count, data[index] == UInt8(ascii: "\\"), data[index + 1] == UInt8(ascii: "u"),
                          let low = hex4(data, index + 2), (0xDC00..<0xE000).contains(low) else { return nil }
                    index += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { return nil }
                out.append(contentsOf: String(Character(unicode)).utf8)
            default: return nil
            }
        }
        return nil
    }

    private static func hex4(_ data: [UInt8], _ at: Int) -> UInt32? {
        guard at + 4 <= data.count else { return nil }
        var value: UInt32 = 0
        for byte in data[at..<at + 4] {
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }
}
