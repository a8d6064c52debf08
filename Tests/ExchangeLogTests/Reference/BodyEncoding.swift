// The tests' reference for a body in a record (with JSONWriter): as a string when it is text, as base64 when it is
// not. The logger writes bodies with `OutputBuffer.body`, which the tests hold to this.

@testable import ExchangeLog

public enum BodyEncoding {
    /// Writes `body` as one JSON value:
    /// - valid UTF-8 (JSON, SSE, any text): a JSON string, byte for byte;
    /// - anything else (an undecodable encoding, binary, text cut mid-character): the object
    ///   `{"base64": "<standard base64 with padding, RFC 4648 §4>"}`.
    /// A reader tells them apart by type: a string is the body itself, an object with the single key "base64"
    /// is the body encoded. The check is exact (it rejects overlongs, surrogates and truncated sequences,
    /// as Swift's own UTF-8 validation does), so a string never stands for bytes that were not sent.
    /// (The logger writes records with `OutputBuffer.body`, which follows the same rule.)
    public static func encode(_ body: [UInt8], into writer: inout JSONWriter) {
        // Validated while escaped, in one pass over the body and without a String copy of it.
        if !body.withUnsafeBufferPointer({ writer.string(ifValidUTF8: $0) }) {
            writer.beginObject()
            writer.key("base64")
            let encoded = OutputBuffer(capacity: (body.count + 2) / 3 * 4 + 16)
            body.withUnsafeBytes { encoded.base64($0) }
            writer.string(bytes: Array(encoded.bytes))
            writer.endObject()
        }
    }
}
