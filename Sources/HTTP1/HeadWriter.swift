// Serialises the heads the gateway sends: the request towards the upstream and the response towards the
// client, each rewritten as an intermediary must (hop-by-hop fields dropped, framing set by us).

/// How a body is delimited on the wire.
public enum BodyFraming: Equatable, Sendable {
    case none
    case contentLength(UInt64)
    case chunked
    /// The body ends when the connection closes (HTTP/1.0 clients, or a response that arrived that way).
    case untilClose
}

public enum HeadWriter {
    /// The request head for the upstream: origin-form target, HTTP/1.1, Host set to the upstream authority,
    /// X-Forwarded-For extended with the client address, X-Forwarded-Proto set, Expect handled here (not
    /// forwarded), framing from `framing`.
    /// `targetPrefix` goes before the target's bytes (`slashWhenEmpty`: an empty target becomes "/");
    /// `extraFields` ("Name: value\r\n" lines) are added, and the client's fields named in `replacedNames`
    /// (lower case) are left out.
    public static func upstreamRequest(_ head: HTTPHead, target: Range<Int>, connectionOptions: ConnectionOptions,
                                       targetPrefix: [UInt8] = [], slashWhenEmpty: Bool = true, host: [UInt8],
                                       extraFields: [UInt8] = [], replacedNames: [[UInt8]] = [],
                                       clientIP: [UInt8], forwardedProto: StaticString,
                                       framing: BodyFraming, into out: inout some HeadOutput) {
        out.write(head.method.name)
        out.write(UInt8(0x20))
        out.write(targetPrefix)
        if !target.isEmpty { out.write(head.bytes[target]) } else if slashWhenEmpty { out.write(UInt8(ascii: "/")) }
        append(&out, " HTTP/1.1\r\nHost: ")
        out.write(host)
        append(&out, "\r\n")
        var forwardedFor = 0
        head.bytes.withUnsafeBytes { all in
            for index in head.fields.indices {
                let field = head.fields[index]
                let name = UnsafeRawBufferPointer(rebasing: all[field.name])
                switch FieldRole.of(name) {
                case .hopByHop, .host, .contentLength, .expect, .forwardedProto:
                    continue
                case .forwardedFor:
                    forwardedFor += 1
                case .other:
                    if connectionOptions.names(field: index, of: head) { continue }
                    if !replacedNames.isEmpty && replacedNames.contains(where: { replaced in replaced.withUnsafeBytes { ASCII.equalsIgnoringCase(name, $0) } }) { continue }
                    out.write(name)
                    append(&out, ": ")
                    out.write(UnsafeRawBufferPointer(rebasing: all[field.value]))
                    append(&out, "\r\n")
                }
            }
            // Earlier hops' addresses are kept in order and ours appended, as one field.
            append(&out, "X-Forwarded-For: ")
            if forwardedFor > 0 {
                for field in head.fields where FieldRole.of(UnsafeRawBufferPointer(rebasing: all[field.name])) == .forwardedFor {
                    out.write(UnsafeRawBufferPointer(rebasing: all[field.value]))
                    append(&out, ", ")
                }
            }
            out.write(clientIP)
            append(&out, "\r\n")
        }
        append(&out, "X-Forwarded-Proto: ")
        append(&out, forwardedProto)
        append(&out, "\r\n")
        out.write(extraFields)
        appendFraming(framing, into: &out)
        append(&out, "\r\n")
    }

    /// The response head for the client: status line as HTTP/1.1, end-to-end fields copied, framing and
    /// connection handling decided by the gateway.
    public static func clientResponse(_ head: HTTPHead, connectionOptions: ConnectionOptions, framing: BodyFraming,
                                      close: Bool, clientIsHTTP10: Bool, into out: inout some HeadOutput) {
        head.withBytes(head.target) { statusLine(head.status, reason: $0, into: &out) }
        head.bytes.withUnsafeBytes { all in
            for index in head.fields.indices {
                let field = head.fields[index]
                let name = UnsafeRawBufferPointer(rebasing: all[field.name])
                switch FieldRole.of(name) {
                case .hopByHop, .contentLength:
                    continue
                default:
                    if connectionOptions.names(field: index, of: head) { continue }
                    out.write(name)
                    append(&out, ": ")
                    out.write(UnsafeRawBufferPointer(rebasing: all[field.value]))
                    append(&out, "\r\n")
                }
            }
        }
        appendFraming(framing, into: &out)
        if close {
            append(&out, "Connection: close\r\n")
        } else if clientIsHTTP10 {
            append(&out, "Connection: keep-alive\r\n")
        }
        append(&out, "\r\n")
    }

    /// A complete response generated by the gateway itself (errors, 100 Continue bodies aside).
    public static func localResponse(status: Int, contentType: StaticString, body: [UInt8], close: Bool,
                                     retryAfterSeconds: Int? = nil, into out: inout some HeadOutput) {
        statusLine(status, reason: reasonPhrase(status).bytes, into: &out)
        append(&out, "Content-Type: ")
        append(&out, contentType)
        append(&out, "\r\n")
        if let retryAfterSeconds {
            append(&out, "Retry-After: ")
            appendDecimal(UInt64(max(0, retryAfterSeconds)), into: &out)
            append(&out, "\r\n")
        }
        appendFraming(.contentLength(UInt64(body.count)), into: &out)
        if close { append(&out, "Connection: close\r\n") }
        append(&out, "\r\n")
        out.write(body)
    }

    public static func statusLine(_ status: Int, reason: UnsafeRawBufferPointer, into out: inout some HeadOutput) {
        append(&out, "HTTP/1.1 ")
        appendDecimal(UInt64(status), into: &out)
        out.write(UInt8(0x20))
        out.write(reason)
        append(&out, "\r\n")
    }

    public static func appendFraming(_ framing: BodyFraming, into out: inout some HeadOutput) {
        switch framing {
        case .none, .untilClose: break
        case .contentLength(let length):
            append(&out, "Content-Length: ")
            appendDecimal(length, into: &out)
            append(&out, "\r\n")
        case .chunked:
            append(&out, "Transfer-Encoding: chunked\r\n")
        }
    }

    @inline(__always)
    public static func append(_ out: inout some HeadOutput, _ text: StaticString) { out.write(text) }

    @inline(__always)
    public static func appendDecimal(_ value: UInt64, into out: inout some HeadOutput) { out.writeDecimal(value) }

    public static func reasonPhrase(_ status: Int) -> StaticString {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 204: "No Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Unknown"
        }
    }
}

