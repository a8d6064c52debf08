// Which endpoint answers a request, and the plain endpoints themselves: /bytes, /chunks, /echo, /status/NNN,
// and the 404 for everything else. The two LLM APIs have their own files.
import Foundation
import HTTP1

enum Routes {
    static func plan(for request: MockRequest, knobs: Knobs, server: MockServer) throws(KnobError) -> ResponsePlan {
        switch request.path {
        case "/v1/messages" where request.method == .post:
            return AnthropicResponses.plan(request, knobs: knobs, number: server.nextResponseNumber())
        case "/v1/chat/completions" where request.method == .post:
            return OpenAIResponses.plan(request, knobs: knobs, number: server.nextResponseNumber())
        case "/bytes":
            return try bytes(request)
        case "/chunks":
            return try chunks(request)
        case let path where path == "/echo" || path.hasSuffix("/echo"):
            // Any path ending in /echo, so tests can see where a gateway's path rewriting sent a request.
            return echo(request)
        case let path where path.hasPrefix("/status/"):
            return try status(String(path.dropFirst("/status/".count)))
        default:
            return .error(404, type: "not_found_error", "no route for \(request.methodName) \(request.path)")
        }
    }

    /// `n` bytes of the pattern: Content-Length, or chunks of `chunk` bytes with `chunked=1`.
    static func bytes(_ request: MockRequest) throws(KnobError) -> ResponsePlan {
        guard let text = request.queryValue("n") else { throw KnobError(message: "/bytes needs n=<byte count>") }
        let total = UInt64(try Knobs.number(text, "n", max: Int.max))
        let chunked = try request.queryValue("chunked").map { text throws(KnobError) in try Knobs.flag(text, "chunked") } ?? false
        var chunkSize: UInt64 = 16384
        if let text = request.queryValue("chunk") {
            chunkSize = UInt64(try Knobs.number(text, "chunk", max: Int.max))
            guard chunkSize > 0 else { throw KnobError(message: "chunk must be at least 1") }
        }
        // Without chunked=1 the chunk boundaries do not matter: pieces of a size the writer likes.
        let source = PatternSource(.uniform(total: total, size: chunked ? chunkSize : UInt64(PatternBytes.pieceSize)))
        return ResponsePlan(status: 200, headers: [("content-type", "application/octet-stream")],
                            body: .stream(source, length: chunked ? nil : total))
    }

    /// A chunked body whose chunks have exactly the sizes asked for.
    static func chunks(_ request: MockRequest) throws(KnobError) -> ResponsePlan {
        var sizes: [UInt64] = []
        for text in (request.queryValue("sizes") ?? "").split(separator: ",") {
            let size = try Knobs.number(String(text), "sizes", max: Int.max)
            // A zero-size chunk is the end of the body (RFC 9112 §7.1): it cannot be one of the chunks.
            guard size > 0 else { throw KnobError(message: "sizes must all be at least 1 (a 0 chunk ends the body)") }
            sizes.append(UInt64(size))
        }
        return ResponsePlan(status: 200, headers: [("content-type", "application/octet-stream")],
                            body: .stream(PatternSource(.list(sizes)), length: nil))
    }

    /// What arrived: method, target, version, headers in order, and the body's size and CRC-32.
    static func echo(_ request: MockRequest) -> ResponsePlan {
        let headers = request.headers.map { "[\(JSONText.quoted($0.0)),\(JSONText.quoted($0.1))]" }.joined(separator: ",")
        let quoted = { (text: String?) in text.map(JSONText.quoted) ?? "null" }
        let tls = request.tls.map { ",\"tls\":{\"server_name\":\(quoted($0.serverName)),\"alpn\":\(quoted($0.alpn))}" } ?? ""
        return .json(200, """
            {"method":\(JSONText.quoted(request.methodName)),"target":\(JSONText.quoted(request.target)),\
            "version":\(JSONText.quoted(request.version)),"headers":[\(headers)],\
            "body_bytes":\(request.bodyBytes),"body_crc32":\(request.bodyCRC)\(tls)}
            """)
    }

    static func status(_ text: String) throws(KnobError) -> ResponsePlan {
        guard text.count == 3, let code = Int(text), (100...599).contains(code) else {
            throw KnobError(message: "/status/NNN needs a status from 100 to 599 (got '\(text)')")
        }
        let body = Array("status \(code)\n".utf8)
        switch code {
        case 101:
            // Nothing to switch to: the connection closes after the head.
            return ResponsePlan(status: 101, headers: [("upgrade", "mock")], body: .none)
        case 100...199:
            // A 1xx is interim (RFC 9110 §15.2): the client still waits for a final response, so one follows.
            return ResponsePlan(status: 200, headers: [("content-type", "text/plain")], body: .fixed(body), interimStatus: code)
        case 204, 304:
            return ResponsePlan(status: code, body: .none)
        default:
            return ResponsePlan(status: code, headers: [("content-type", "text/plain")], body: .fixed(body))
        }
    }
}

/// The fields of an LLM request body the mock reacts to.
struct APIRequestBody {
    var stream = false
    var model: String?
    var includeUsage = false
    var bytes: UInt64

    init(_ request: MockRequest) {
        bytes = request.bodyBytes
        let body = request.body
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            stream = (object["stream"] as? Bool) == true
            model = object["model"] as? String
            includeUsage = ((object["stream_options"] as? [String: Any])?["include_usage"] as? Bool) == true
        } else {
            // Not JSON (or cut at the keep limit): fall back to looking for the fields as text.
            stream = Self.contains(body, key: "stream", value: "true")
            includeUsage = Self.contains(body, key: "include_usage", value: "true")
        }
    }

    /// input_tokens: about four bytes a token, as the real tokenizers average on English.
    var inputTokens: UInt64 { max(1, bytes / 4) }

    /// True when `"key"`, optional whitespace, `:`, optional whitespace, `value` appears in `body`.
    static func contains(_ body: [UInt8], key: String, value: String) -> Bool {
        let needle = Array("\"\(key)\"".utf8)
        let wanted = Array(value.utf8)
        guard body.count >= needle.count else { return false }
        var index = 0
        while index + needle.count <= body.count {
            if body[index..<index + needle.count].elementsEqual(needle) {
                var cursor = index + needle.count
                while cursor < body.count && (body[cursor] == 0x20 || body[cursor] == 0x09 || body[cursor] == 0x0a || body[cursor] == 0x0d) { cursor += 1 }
                if cursor < body.count && body[cursor] == UInt8(ascii: ":") {
                    cursor += 1
                    while cursor < body.count && (body[cursor] == 0x20 || body[cursor] == 0x09 || body[cursor] == 0x0a || body[cursor] == 0x0d) { cursor += 1 }
                    if cursor + wanted.count <= body.count && body[cursor..<cursor + wanted.count].elementsEqual(wanted) { return true }
                }
            }
            index += 1
        }
        return false
    }
}
