// One TLS connection as a pure byte transformer: ciphertext in from the socket, plaintext out to the parser,
// plaintext in from the gateway, ciphertext out to the socket. OpenSSL works on two memory BIOs and never
// touches a socket, so it never blocks: the event loop does all I/O.
internal import COpenSSL
import Glibc

/// Loop-owned. `receive` ciphertext the socket read, then `read` plaintext until `.wantMore`; `write` or
/// `encrypt` plaintext, then send what `takeCiphertext` hands over. After `handshake()`, `receive` or
/// `read`, ciphertext may be pending too (handshake messages, alerts, key updates).
public final class TLSEngine {
    let ssl: OpaquePointer
    /// Network → OpenSSL (we write ciphertext into it) and OpenSSL → network (we take ciphertext out).
    private let inbound: OpaquePointer
    private let outbound: OpaquePointer
    let sessionCache: TLSSessionCache?
    public private(set) var isHandshakeComplete = false

    public enum Progress: Equatable { case done, wantMore, failed(String) }
    public enum ReadResult: Equatable { case bytes(Int), wantMore, closed, failed(String) }

    /// A client engine for `host`: SNI (for names, not addresses) and certificate name checks against
    /// `host` when the context verifies peers; resumes from `sessionCache` and stores new sessions there.
    public init(client context: TLSContext, host: String, sessionCache: TLSSessionCache?) throws(TLSError) {
        guard let ssl = SSL_new(context.raw) else { throw TLSError.fromQueue("cannot create a TLS connection") }
        self.ssl = ssl
        inbound = BIO_new(BIO_s_mem())
        outbound = BIO_new(BIO_s_mem())
        self.sessionCache = sessionCache
        attach()
        SSL_set_connect_state(ssl)
        let isAddress = IPAddressText.isAddress(host)
        if !isAddress { _ = kgb_SSL_set_tlsext_host_name(ssl, host) }
        if context.verifiesPeer {
            if isAddress {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
            } else {
                SSL_set_hostflags(ssl, kgb_X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS)
                guard SSL_set1_host(ssl, host) == 1 else { throw TLSError.fromQueue("invalid TLS host name '\(host)'") }
            }
        }
        if let session = sessionCache?.current { SSL_set_session(ssl, session) }
    }

    /// A server engine (the mock upstream).
    public init(server context: TLSContext) throws(TLSError) {
        guard let ssl = SSL_new(context.raw) else { throw TLSError.fromQueue("cannot create a TLS connection") }
        self.ssl = ssl
        inbound = BIO_new(BIO_s_mem())
        outbound = BIO_new(BIO_s_mem())
        sessionCache = nil
        attach()
        SSL_set_accept_state(ssl)
    }

    private func attach() {
        // An empty inbound BIO means "no more yet", not end of stream.
        _ = kgb_BIO_set_mem_eof_return(inbound, -1)
        SSL_set_bio(ssl, inbound, outbound)  // the SSL owns both BIOs from here
        _ = kgb_SSL_set_app_data(ssl, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        // Freed without a close_notify, OpenSSL would mark the connection's session unusable for resumption;
        // closing a pooled or finished connection is not a sign the session is bad, so say it shut down cleanly.
        if isHandshakeComplete { SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN) }
        SSL_free(ssl)
    }

    // MARK: Handshake

    public func handshake() -> Progress {
        ERR_clear_error()
        let status = SSL_do_handshake(ssl)
        if status == 1 {
            isHandshakeComplete = true
            return .done
        }
        switch SSL_get_error(ssl, status) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wantMore
        default: return .failed(failureReason())
        }
    }

    /// The server name the client sent (SNI), if any; for the mock's /echo.
    public var serverName: String? {
        SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
    }

    /// The application protocol agreed by ALPN, if any.
    public var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>? = nil
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// True when the handshake resumed a session instead of doing a full key exchange.
    public var resumedSession: Bool { SSL_session_reused(ssl) == 1 }

    // MARK: Data

    /// Ciphertext read from the socket.
    public func receive(_ ciphertext: UnsafeRawBufferPointer) {
        guard ciphertext.count > 0 else { return }
        // A memory BIO grows to take everything, so this never writes short.
        _ = BIO_write(inbound, ciphertext.baseAddress, Int32(ciphertext.count))
    }

    /// Decrypts into `buffer`: `.bytes(n)` with n > 0, `.wantMore` when the received ciphertext is used up,
    /// `.closed` on the peer's close_notify.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        ERR_clear_error()
        let count = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if count > 0 { return .bytes(Int(count)) }
        switch SSL_get_error(ssl, count) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wantMore
        case SSL_ERROR_ZERO_RETURN: return .closed
        default: return .failed(failureReason())
        }
    }

    /// Decrypts everything received so far into `buffer`, a buffer's worth at a time: `consume` gets each fill and
    /// returns false to stop early. Returns how reading ended: `.wantMore` (all used, or stopped), `.closed` (the
    /// peer's close_notify) or `.failed`.
    public func decryptReceived(into buffer: UnsafeMutableRawBufferPointer,
                                _ consume: (UnsafeRawBufferPointer) -> Bool) -> ReadResult {
        while true {
            var filled = 0
            var ending = ReadResult.wantMore
            fill: while filled < buffer.count {
                switch read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])) {
                case .bytes(let count): filled += count
                case let other: ending = other; break fill
                }
            }
            if filled > 0 && !consume(UnsafeRawBufferPointer(rebasing: buffer[0..<filled])) { return .wantMore }
            if ending != .wantMore || filled < buffer.count { return ending }
        }
    }

    /// Encrypts plaintext; the ciphertext waits for `takeCiphertext`. Returns a reason on failure.
    public func write(_ plaintext: UnsafeRawBufferPointer) -> String? {
        guard plaintext.count > 0 else { return nil }
        ERR_clear_error()
        // Memory BIOs never refuse bytes, so one call writes everything once the handshake is done.
        let count = SSL_write(ssl, plaintext.baseAddress, Int32(plaintext.count))
        return count == Int32(plaintext.count) ? nil : failureReason()
    }

    /// Encrypts the plaintext gathered since the last call and empties `gathered` (keeping its capacity): one
    /// TLS record per flush rather than one per piece. Returns a reason on failure.
    public func encrypt(_ gathered: inout [UInt8]) -> String? {
        guard !gathered.isEmpty else { return nil }
        let failure = gathered.withUnsafeBytes { write($0) }
        gathered.removeAll(keepingCapacity: true)
        return failure
    }

    /// Hands the ciphertext waiting to be sent, if any, to `send` (which must send or copy it before returning),
    /// then forgets it.
    public func takeCiphertext(_ send: (UnsafeRawBufferPointer) -> Void) {
        var data: UnsafeMutablePointer<CChar>? = nil
        let count = kgb_BIO_get_mem_data(outbound, &data)
        guard count > 0 else { return }
        send(UnsafeRawBufferPointer(start: data, count: count))
        _ = kgb_BIO_reset(outbound)
    }

    /// Queues a close_notify alert (sent with the next pending ciphertext).
    public func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    // MARK: Errors

    /// Why the last operation failed, in words an operator can act on.
    private func failureReason() -> String {
        let verify = SSL_get_verify_result(ssl)
        if verify != X509_V_OK {
            ERR_clear_error()
            return "certificate verify failed: \(String(cString: X509_verify_cert_error_string(verify)))"
        }
        return TLSError.fromQueue("TLS failed").message
    }
}

/// Sessions for one upstream origin: the newest is offered by the next connection's handshake.
public final class TLSSessionCache {
    private(set) var current: OpaquePointer?
    public init() {}

    func store(_ session: OpaquePointer) {
        if let old = current { SSL_SESSION_free(old) }
        current = session
    }

    deinit { if let current { SSL_SESSION_free(current) } }
}

/// Is this host text an IPv4 or IPv6 address (no SNI for those, and the certificate must name the address)?
enum IPAddressText {
    static func isAddress(_ host: String) -> Bool {
        var buffer = in6_addr()
        return inet_pton(AF_INET, host, &buffer) == 1 || inet_pton(AF_INET6, host, &buffer) == 1
    }
}
