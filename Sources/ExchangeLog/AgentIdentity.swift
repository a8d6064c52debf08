// Who sent an exchange, as its record tells it: the credential the client presented (as a fingerprint, never the
// value), the session the agent named in a header, and its User-Agent. With `--agents`, the agent's name too (the
// assembler adds it from the end record).

/// Where in the request head's bytes the agent's credential, session and user agent are.
struct AgentFields {
    /// `x-api-key`, else the token of `Authorization: Bearer ...` (the same key gives the same fingerprint whichever
    /// header the SDK put it in).
    var credential: Credential?
    var session: Range<Int>?
    var userAgent: Range<Int>?

    enum Credential {
        case range(Range<Int>)
        /// A token that is not a plain slice of the head (a header value beyond ASCII, read as a String reads it).
        case bytes([UInt8])

        func withBytes<R>(_ head: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
            switch self {
            case .range(let range): body(UnsafeRawBufferPointer(rebasing: head[range]))
            case .bytes(let bytes): bytes.withUnsafeBytes(body)
            }
        }
    }

    /// `sessionHeaders`: lower-case names, first present wins.
    /// Borrowed: an initializer's arguments are otherwise passed owned, a retain and a release of each per record.
    init(_ head: UnsafeRawBufferPointer, _ fields: borrowing HeadFields, sessionHeaders: borrowing [SessionHeader]) {
        var apiKey: Range<Int>?
        var bearer: Credential?
        // The first value of each session header counts; of those, the first non-empty one in the configured order.
        var seen: UInt64 = 0
        var best: (index: Int, value: Range<Int>)?
        for index in 0..<fields.count {
            let field = fields[index]
            switch field.role {
            case .apiKey:
                if apiKey == nil { apiKey = field.value }
            case .authorization:
                if bearer == nil { bearer = Self.bearerToken(head, field.value) }
            case .userAgent:
                if userAgent == nil { userAgent = field.value }
            default:
                for (index, session) in sessionHeaders.enumerated() where index < 64 && seen & (1 << index) == 0
                    && session.prefix == field.prefix && session.count == field.name.count
                    && ASCII.equalsIgnoringCase(head, field.name, session.name) {
                    seen |= 1 << index
                    if !field.value.isEmpty, index < best?.index ?? Int.max { best = (index, field.value) }
                }
            }
        }
        credential = apiKey.map { .range($0) } ?? bearer
        session = best?.value
    }

    /// A configured session header's lower-case name, with the word and length its fields are compared by first.
    struct SessionHeader {
        let name: [UInt8]
        let prefix: UInt64
        var count: Int { name.count }

        init(_ name: String) {
            self.name = Array(name.lowercased().utf8)
            prefix = self.name.withUnsafeBufferPointer { bytes in
                bytes.baseAddress.map { HeadFields.loweredPrefix($0, 0..<bytes.count, limit: bytes.count) } ?? 0
            }
        }
    }

    /// The token after `Bearer ` (any case) and any spaces; nil for another scheme.
    private static func bearerToken(_ head: UnsafeRawBufferPointer, _ value: Range<Int>) -> Credential? {
        let bytes = UnsafeRawBufferPointer(rebasing: head[value])
        guard bytes.allSatisfy({ $0 < 0x80 }) else {
            // Beyond ASCII: by characters, as a String counts them.
            let text = String(decoding: bytes, as: UTF8.self)
            guard text.count > 7, text.prefix(7).lowercased() == "bearer " else { return nil }
            return .bytes(Array(text.dropFirst(7).drop { $0 == " " }.utf8))
        }
        guard bytes.count > 7, ASCII.hasPrefixIgnoringCase(bytes, "bearer ") else { return nil }
        var start = value.lowerBound + 7
        while start < value.upperBound, head[start] == 0x20 { start += 1 }
        return .range(start..<value.upperBound)
    }
}

/// The same as text, for tests and readers that hold headers as strings.
struct AgentIdentity: Equatable {
    var name: String?
    var key: String?
    var session: String?
    var userAgent: String?

    init(headers: [(String, String)], sessionHeaders: [String], fingerprint: Fingerprint) {
        var head: [UInt8] = []
        var fields: [FieldRange] = []
        for (name, value) in headers {
            let nameStart = head.count
            head += Array(name.utf8)
            let valueStart = head.count
            head += Array(value.utf8)
            fields.append(FieldRange(nameStart: Int32(nameStart), nameEnd: Int32(valueStart), valueStart: Int32(valueStart),
                                     valueEnd: Int32(head.count)))
        }
        let found = head.withUnsafeBytes { bytes in
            var parsed = HeadFields()
            parsed.set(bytes, fields)
            return AgentFields(bytes, parsed, sessionHeaders: sessionHeaders.map { AgentFields.SessionHeader($0) })
        }
        head.withUnsafeBytes { bytes in
            key = found.credential.map { $0.withBytes(bytes) { fingerprint.of($0) } }
            session = found.session.map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
            userAgent = found.userAgent.map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
        }
    }
}
