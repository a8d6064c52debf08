// Which header fields an intermediary must not forward (RFC 9110 §7.6.1) and which the gateway sets itself.

/// What a field name means to the gateway. Classified once per field from its bytes.
public enum FieldRole: Equatable, Sendable {
    /// Connection-specific: Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-*.
    case hopByHop
    case host
    case contentLength
    case expect
    case forwardedFor
    case forwardedProto
    case other

    public static func of(_ name: UnsafeRawBufferPointer) -> FieldRole {
        // Switch on length first: most names are rejected by one integer compare.
        switch name.count {
        case 2: return ASCII.equalsIgnoringCase(name, "te") ? .hopByHop : .other
        case 4: return ASCII.equalsIgnoringCase(name, "host") ? .host : .other
        case 6: return ASCII.equalsIgnoringCase(name, "expect") ? .expect : .other
        case 7:
            if ASCII.equalsIgnoringCase(name, "trailer") || ASCII.equalsIgnoringCase(name, "upgrade") { return .hopByHop }
        case 10:
            if ASCII.equalsIgnoringCase(name, "connection") || ASCII.equalsIgnoringCase(name, "keep-alive") { return .hopByHop }
        case 14:
            if ASCII.equalsIgnoringCase(name, "content-length") { return .contentLength }
        case 15:
            if ASCII.equalsIgnoringCase(name, "x-forwarded-for") { return .forwardedFor }
        case 17:
            if ASCII.equalsIgnoringCase(name, "transfer-encoding") { return .hopByHop }
            if ASCII.equalsIgnoringCase(name, "x-forwarded-proto") { return .forwardedProto }
        default: break
        }
        // Proxy-Connection, Proxy-Authorization, Proxy-Authenticate, ...: meant for a proxy hop, never forwarded.
        if name.count > 6 && ASCII.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: name[0..<6]), "proxy-") { return .hopByHop }
        return .other
    }
}

/// The field names a message's `Connection` headers list (besides `close`/`keep-alive`): those fields are
/// connection-specific too and are dropped (RFC 9110 §7.6.1).
public struct ConnectionOptions {
    private var named: [Range<Int>] = []

    public init() {}

    public mutating func collect(from head: HTTPHead) {
        named.removeAll(keepingCapacity: true)
        for index in head.fields.indices where head.name(at: index, is: "connection") {
            let value = head.fields[index].value
            head.bytes.withUnsafeBytes { all in
                let base = all.baseAddress!
                ASCII.forEachListElement(UnsafeRawBufferPointer(rebasing: all[value])) { token in
                    let start = token.baseAddress! - base
                    named.append(start..<start + token.count)
                }
            }
        }
    }

    public var isEmpty: Bool { named.isEmpty }

    /// True when field `index` of `head` is named by a Connection option.
    public func names(field index: Int, of head: HTTPHead) -> Bool {
        guard !named.isEmpty else { return false }
        return head.bytes.withUnsafeBytes { all in
            let name = UnsafeRawBufferPointer(rebasing: all[head.fields[index].name])
            for option in named where ASCII.equalsIgnoringCase(name, UnsafeRawBufferPointer(rebasing: all[option])) {
                return true
            }
            return false
        }
    }
}
