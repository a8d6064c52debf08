// One HTTP/1.1 POST from a delivery thread, blocking (never on the loop): resolve, connect with a timeout, TLS
// through the same engine and trust settings as upstreams (OpenSSL over memory BIOs, here driven by blocking socket
// calls), send the request, and read the answer with llhttp. One connection per batch: batches are a second apart,
// and a fresh connection cannot be one the collector closed while it idled.
import Glibc
import HTTP1
import TLS

public struct HTTPAnswer: Sendable {
    public var status: Int
    /// Retry-After in seconds, when given as a number.
    public var retryAfter: Double?
    public var body: [UInt8]
}

/// An http(s) URL taken apart as the poster needs it: no Foundation URL (it would link Foundation into the sidecar).
public struct HTTPURL: Sendable {
    public let scheme: String
    /// Without the brackets of an IPv6 literal.
    public let host: String
    /// As written; nil when the URL gives none.
    public let port: Int?
    /// Percent-encoded, as written; "/" when the URL has none.
    public let path: String
    public let query: String?

    /// `http[s]://[USER[:PASS]@]HOST[:PORT][/PATH][?QUERY][#FRAGMENT]`; nil for anything else.
    public init?(_ text: String) {
        guard let separator = text.firstRange(of: "://") else { return nil }
        scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var rest = text[separator.upperBound...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let target = rest[authorityEnd...]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { return nil }
            if after.hasPrefix(":") { portText = after.dropFirst() }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "\t" }) else { return nil }
        if let portText, !portText.isEmpty {
            guard portText.allSatisfy(\.isASCII), let number = Int(portText), (0...65535).contains(number) else { return nil }
            port = number
        } else {
            port = nil
        }
        let question = target.firstIndex(of: "?")
        let rawPath = target[..<(question ?? target.endIndex)]
        path = rawPath.isEmpty ? "/" : String(rawPath)
        query = question.map { String(target[target.index(after: $0)...]) }
    }

    /// What follows the method in the request line.
    public var target: String { path + (query.map { "?" + $0 } ?? "") }

    /// The Host header: the host (bracketed when IPv6) and the port when the URL gives one.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port.map { "\(name):\($0)" } ?? name
    }
}

public struct HTTPPost {
    public let url: HTTPURL
    public let host: String
    public let port: Int
    public let tls: TLSContext?
    /// Header lines sent with every request (`Name: value`), e.g. a collector's credentials.
    public let headers: [(name: String, value: String)]
    public let timeoutSeconds: Int

    public init(url text: String, tls: TLSContext?, headers: [(name: String, value: String)], timeoutSeconds: Int = 10)
        throws(SinkError) {
        guard let url = HTTPURL(text) else {
            throw SinkError("'\(text)' is not an http(s)://HOST[:PORT]/PATH URL")
        }
        guard url.scheme == "http" || tls != nil else { throw SinkError("\(text): https needs TLS settings") }
        self.url = url
        host = url.host
        port = url.port ?? (url.scheme == "https" ? 443 : 80)
        self.tls = url.scheme == "https" ? tls : nil
        self.headers = headers
        self.timeoutSeconds = timeoutSeconds
    }

    /// Sends one request; throws a message when no answer could be had (connection, TLS, timeout, malformed).
    public func post(path: String, contentType: String, contentEncoding: String?, body: [UInt8]) throws(SinkError) -> HTTPAnswer {
        let socket = try connect()
        defer { close(socket) }
        var head = "POST \(path) HTTP/1.1\r\nHost: \(url.hostHeader)\r\n"
        head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\nUser-Agent: kgb\r\n"
        if let contentEncoding { head += "Content-Encoding: \(contentEncoding)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        if let tls {
            let engine: TLSEngine
            do { engine = try TLSEngine(client: tls, host: host, sessionCache: nil) } catch {
                throw SinkError("TLS with \(host): \(error.message)")
            }
            try handshake(engine, socket)
            var plaintext = request
            if let failure = engine.encrypt(&plaintext) { throw SinkError("TLS with \(host): \(failure)") }
            try flushCiphertext(engine, socket)
            return try readAnswer { (buffer: UnsafeMutableRawBufferPointer) throws(SinkError) -> Int in
                // Decrypt what is already received; read more ciphertext when it runs out.
                while true {
                    switch engine.read(into: buffer) {
                    case .bytes(let count): return count
                    case .closed: return 0
                    case .failed(let why): throw SinkError("TLS with \(host): \(why)")
                    case .wantMore:
                        var ciphertext = [UInt8](repeating: 0, count: 16384)
                        let got = try receive(socket, &ciphertext)
                        if got == 0 { return 0 }
                        ciphertext.withUnsafeBytes { engine.receive(UnsafeRawBufferPointer(rebasing: $0[..<got])) }
                    }
                }
            }
        }
        try send(socket, request)
        return try readAnswer { (buffer: UnsafeMutableRawBufferPointer) throws(SinkError) -> Int in
            var bytes = [UInt8](repeating: 0, count: buffer.count)
            let got = try receive(socket, &bytes)
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<got])) }
            return got
        }
    }

    // MARK: Socket

    private func connect() throws(SinkError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw SinkError("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            // SO_SNDTIMEO bounds connect(2) too on Linux.
            if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return fd }
            lastError = String(cString: strerror(errno))
            close(fd)
        }
        throw SinkError("cannot connect to \(host):\(port): \(lastError)")
    }

    private func send(_ socket: Int32, _ bytes: [UInt8]) throws(SinkError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw SinkError("sending to \(host):\(port) failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    private func receive(_ socket: Int32, _ buffer: inout [UInt8]) throws(SinkError) -> Int {
        let count = buffer.count
        let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, count, 0) }
        guard n >= 0 else {
            let why = errno == EAGAIN ? "no answer within \(timeoutSeconds) s" : String(cString: strerror(errno))
            throw SinkError("reading from \(host):\(port) failed: \(why)")
        }
        return n
    }

    private func handshake(_ engine: TLSEngine, _ socket: Int32) throws(SinkError) {
        while true {
            let progress = engine.handshake()
            try flushCiphertext(engine, socket)
            switch progress {
            case .done: return
            case .failed(let why): throw SinkError("TLS handshake with \(host) failed: \(why)")
            case .wantMore:
                var ciphertext = [UInt8](repeating: 0, count: 16384)
                let got = try receive(socket, &ciphertext)
                guard got > 0 else { throw SinkError("\(host) closed the connection during the TLS handshake") }
                ciphertext.withUnsafeBytes { engine.receive(UnsafeRawBufferPointer(rebasing: $0[..<got])) }
            }
        }
    }

    private func flushCiphertext(_ engine: TLSEngine, _ socket: Int32) throws(SinkError) {
        var pending: [UInt8] = []
        engine.takeCiphertext { pending.append(contentsOf: $0) }
        if !pending.isEmpty { try send(socket, pending) }
    }

    // MARK: The answer

    /// Parses the answer from what `read` fills into a buffer (0: the peer closed).
    private func readAnswer(_ read: (UnsafeMutableRawBufferPointer) throws(SinkError) -> Int) throws(SinkError) -> HTTPAnswer {
        let reader = AnswerReader()
        let parser = HTTPParser(kind: .response, delegate: reader, maxHeadBytes: 64 << 10)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16384, alignment: 1)
        defer { buffer.deallocate() }
        while !reader.complete {
            let got = try read(buffer)
            if got == 0 {
                if case .paused = parser.finish() { break }
                throw SinkError("\(host):\(port) closed the connection before a whole answer")
            }
            switch parser.execute(UnsafeRawBufferPointer(rebasing: buffer[..<got])) {
            case .consumed, .paused: continue
            case .failed(let error): throw SinkError("invalid answer from \(host):\(port): \(error.reason)")
            }
        }
        return HTTPAnswer(status: reader.status, retryAfter: reader.retryAfter, body: reader.body)
    }
}

/// Collects one response: status, Retry-After, body (bounded; only for messages).
private final class AnswerReader: HTTPParserDelegate {
    var status = 0
    var retryAfter: Double?
    var body: [UInt8] = []
    var complete = false

    func parserHeadComplete(_ parser: HTTPParser, _ head: HTTPHead) -> HeadVerdict {
        status = head.status
        retryAfter = head.value(of: "retry-after").flatMap { Double($0.trimmingSpaces) }
        return .proceed
    }

    func parserBody(_ parser: HTTPParser, _ bytes: UnsafeRawBufferPointer) {
        if body.count < 4096 { body.append(contentsOf: bytes.prefix(4096 - body.count)) }
    }

    func parserChunkHeader(_ parser: HTTPParser, size: UInt64) {}
    func parserChunkComplete(_ parser: HTTPParser) {}

    func parserMessageComplete(_ parser: HTTPParser) -> Bool {
        // An interim 100 Continue is not the answer.
        guard parser.head.status >= 200 else { return false }
        complete = true
        return true
    }
}
