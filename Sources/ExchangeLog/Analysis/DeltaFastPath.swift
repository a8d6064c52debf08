// The common event of a stream is a text delta, thousands per answer; parsing each with JSONSerialization
// kept the logger near 40 MB/s. This reads the two common shapes directly and answers false for anything else,
// so the full parser still handles every other event and every unusual spelling.
import Glibc

/// Each reader decodes the delta's JSON string straight onto the end of the answer's UTF-8 bytes (no String
/// or array per event); on false the bytes are left exactly as they were.
enum DeltaFastPath {
    private static let anthropicPrefix: StaticString = #"{"type":"content_block_delta","index":"#
    private static let anthropicText: StaticString = #""delta":{"type":"text_delta","text":""#
    private static let anthropicEnd: StaticString = "}}"
    private static let openAIPrefix: StaticString = #"{"id":"#
    private static let openAIContent: StaticString = #""delta":{"content":""#
    private static let openAIRest: StaticString = #"},"logprobs":null,"finish_reason":null}]}"#
    private static let openAIRestShort: StaticString = #"},"finish_reason":null}]}"#

    /// `{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"…"}}` → the text,
    /// appended to `text`.
    static func appendAnthropicTextDelta(_ data: UnsafeRawBufferPointer, to text: inout [UInt8]) -> Bool {
        guard hasPrefix(data, anthropicPrefix),
              let start = find(anthropicText, in: data, from: anthropicPrefix.utf8CodeUnitCount) else { return false }
        let mark = text.count
        guard let end = appendJSONString(data, from: start + anthropicText.utf8CodeUnitCount, to: &text),
              equals(UnsafeRawBufferPointer(rebasing: data[end...]), anthropicEnd) else {
            text.removeSubrange(mark...)
            return false
        }
        return true
    }

    /// An OpenAI chunk whose only choice carries `"delta":{"content":"…"}` and no finish reason, usage or
    /// tool calls → the content, appended to `text`. Only used once the model is known (this does not read it).
    static func appendOpenAIContentDelta(_ data: UnsafeRawBufferPointer, to text: inout [UInt8]) -> Bool {
        guard hasPrefix(data, openAIPrefix), let start = find(openAIContent, in: data, from: 0) else { return false }
        // Exactly one choice and nothing after it but the closing brackets.
        guard find(openAIContent, in: data, from: start + 1) == nil else { return false }
        let mark = text.count
        guard let end = appendJSONString(data, from: start + openAIContent.utf8CodeUnitCount, to: &text) else {
            text.removeSubrange(mark...)
            return false
        }
        let rest = UnsafeRawBufferPointer(rebasing: data[end...])
        guard equals(rest, openAIRest) || equals(rest, openAIRestShort) else {
            text.removeSubrange(mark...)
            return false
        }
        return true
    }

    // MARK: Bytes

    @inline(__always)
    static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        bytes.count == literal.utf8CodeUnitCount
            && (bytes.isEmpty || memcmp(bytes.baseAddress!, literal.utf8Start, bytes.count) == 0)
    }

    static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        bytes.count >= literal.utf8CodeUnitCount && memcmp(bytes.baseAddress!, literal.utf8Start, literal.utf8CodeUnitCount) == 0
    }

    private static func find(_ needle: StaticString, in data: UnsafeRawBufferPointer, from: Int) -> Int? {
        let length = needle.utf8CodeUnitCount
        guard length <= data.count, from <= data.count - length, let base = data.baseAddress else { return nil }
        let first = Int32(needle.utf8Start[0])
        var index = from
        while index <= data.count - length {
            guard let hit = memchr(base + index, first, data.count - length + 1 - index) else { return nil }
            index = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + index, needle.utf8Start, length) == 0 { return index }
            index += 1
        }
        return nil
    }

    /// Decodes a JSON string body starting just after its opening quote onto the end of `out`; returns the
    /// index after the closing quote. nil on anything malformed, including a result that is not valid UTF-8
    /// (the caller then removes what was appended, and the slow path decides).
    static func appendJSONString(_ data: UnsafeRawBufferPointer, from start: Int, to out: inout [UInt8]) -> Int? {
        let mark = out.count
        var sawHighByte = false
        var index = start
        let count = data.count
        while index < count {
            // The unescaped run up to the next quote, backslash or control byte, copied in one append.
            var runEnd = index
            while runEnd < count {
                let byte = data[runEnd]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                if byte >= 0x80 { sawHighByte = true }
                runEnd += 1
            }
            if runEnd > index { out.appendBytes(UnsafeRawBufferPointer(rebasing: data[index..<runEnd])) }
            index = runEnd
            guard index < count else { return nil }
            let byte = data[index]
            if byte == UInt8(ascii: "\"") {
                // Escapes decode to whole, valid scalars; only raw bytes ≥ 0x80 can make the text invalid.
                if sawHighByte {
                    let valid = out.withUnsafeBufferPointer {
                        String(validating: UnsafeBufferPointer(rebasing: $0[mark...]), as: UTF8.self) != nil
                    }
                    guard valid else { return nil }
                }
                return index + 1
            }
            if byte < 0x20 { return nil }
            guard index + 1 < count else { return nil }
            let escape = data[index + 1]
            index += 2
            if let decoded = JSONGrammar.simpleEscape(escape) {
                out.append(decoded)
                continue
            }
            guard escape == UInt8(ascii: "u"), let (scalar, end) = JSONGrammar.unicodeEscape(data, index) else { return nil }
            index = end
            out.append(contentsOf: UTF8.encode(scalar)!)
        }
        return nil
    }
}
