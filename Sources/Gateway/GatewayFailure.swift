// The one place that decides what the client sees when an exchange fails before its response head:
// the HTTP status, the error type in the upstream API's error shape, and the exchange's outcome.
import HTTP1

public enum Outcome: String, Sendable, CaseIterable {
    case complete
    case clientAborted = "client_aborted"
    case upstreamError = "upstream_error"
    case upstreamTimeout = "upstream_timeout"
    case rejected

    /// The raw value as a literal (the log's end record writes it per exchange; a String's bytes cost more to read).
    public var name: StaticString {
        switch self {
        case .complete: "complete"
        case .clientAborted: "client_aborted"
        case .upstreamError: "upstream_error"
        case .upstreamTimeout: "upstream_timeout"
        case .rejected: "rejected"
        }
    }
}

public struct GatewayFailure: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Cause: Sendable {
        /// The request could not be parsed or broke a protocol rule.
        case badRequest
        case headTooLarge
        case headerTimeout
        case methodNotAllowed
        case versionNotSupported
        case noRoute
        /// No agent key, or one no agent holds (with `--agents`).
        case unauthorized
        /// The agent may not use this route.
        case forbidden
        /// One of the agent's limits is reached (`retryAfterSeconds` says when to try again).
        case rateLimited
        /// DNS, connect, write or read failure towards the upstream, or a malformed upstream response.
        case upstreamUnreachable
        case upstreamBroken
        case connectTimeout
        case upstreamTimeout
        case draining
    }

    public let cause: Cause
    public let message: String
    /// Sent as `Retry-After` (a rate limit).
    public let retryAfterSeconds: Int?

    public init(_ cause: Cause, _ message: String, retryAfterSeconds: Int? = nil) {
        self.cause = cause
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { message }

    public var status: Int {
        switch cause {
        case .badRequest: 400
        case .headTooLarge: 431
        case .headerTimeout: 408
        case .methodNotAllowed: 405
        case .versionNotSupported: 505
        case .noRoute: 404
        case .unauthorized: 401
        case .forbidden: 403
        case .rateLimited: 429
        case .upstreamUnreachable, .upstreamBroken: 502
        case .connectTimeout, .upstreamTimeout: 504
        case .draining: 503
        }
    }

    /// The `error.type` an Anthropic or OpenAI SDK expects for this status.
    public var errorType: StaticString {
        switch cause {
        case .badRequest, .methodNotAllowed, .versionNotSupported, .headerTimeout: "invalid_request_error"
        case .headTooLarge: "request_too_large"
        case .noRoute: "not_found_error"
        case .unauthorized: "authentication_error"
        case .forbidden: "permission_error"
        case .rateLimited: "rate_limit_error"
        case .upstreamUnreachable, .upstreamBroken, .connectTimeout, .upstreamTimeout: "api_error"
        case .draining: "overloaded_error"
        }
    }

    public var outcome: Outcome {
        switch cause {
        case .badRequest, .headTooLarge, .headerTimeout, .methodNotAllowed, .versionNotSupported, .noRoute, .draining,
             .unauthorized, .forbidden, .rateLimited:
            .rejected
        case .upstreamUnreachable, .upstreamBroken: .upstreamError
        case .connectTimeout, .upstreamTimeout: .upstreamTimeout
        }
    }

    /// `{"type":"error","error":{"type":"...","message":"..."}}` — the shape both SDKs parse.
    public var jsonBody: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + message.utf8.count)
        HeadWriter.append(&out, "{\"type\":\"error\",\"error\":{\"type\":\"")
        HeadWriter.append(&out, errorType)
        HeadWriter.append(&out, "\",\"message\":\"")
        JSONText.appendEscaped(message, into: &out)
        HeadWriter.append(&out, "\"}}")
        return out
    }

    /// The whole response: head and body, `Connection: close` when the connection will not be reused.
    public func response(close: Bool) -> [UInt8] {
        var out: [UInt8] = []
        HeadWriter.localResponse(status: status, contentType: "application/json", body: jsonBody, close: close,
                                 retryAfterSeconds: retryAfterSeconds, into: &out)
        return out
    }
}

enum JSONText {
    static func appendEscaped(_ text: String, into out: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): HeadWriter.append(&out, "\\\"")
            case UInt8(ascii: "\\"): HeadWriter.append(&out, "\\\\")
            case 0x0a: HeadWriter.append(&out, "\\n")
            case 0x0d: HeadWriter.append(&out, "\\r")
            case 0x09: HeadWriter.append(&out, "\\t")
            case 0..<0x20:
                HeadWriter.append(&out, "\\u00")
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xf)])
            default: out.append(byte)
            }
        }
    }
}
