// The shared TLS settings (an OpenSSL SSL_CTX): made once at start-up, used by every connection of every loop.
internal import COpenSSL

public struct TLSError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// The oldest error OpenSSL queued on this thread (the root cause), or `fallback`; clears the queue.
    static func fromQueue(_ fallback: String) -> TLSError {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return TLSError(fallback) }
        if let reason = ERR_reason_error_string(code) { return TLSError(String(cString: reason)) }
        return TLSError("\(fallback) (OpenSSL error \(code))")
    }
}

/// Thread-safe after set-up: OpenSSL locks what SSL_CTX shares between connections.
public final class TLSContext: @unchecked Sendable {
    public enum Role: Sendable { case client, server }
    let raw: OpaquePointer
    public let role: Role
    public let verifiesPeer: Bool

    /// A client context: TLS 1.2 or later, ALPN `http/1.1`, the peer's certificate checked against the system
    /// CA store (plus `extraCAFile`) unless `verify` is false, and client-side session tickets kept for resumption.
    public init(clientVerifying verify: Bool = true, extraCAFile: String? = nil) throws(TLSError) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw TLSError.fromQueue("cannot create a TLS context") }
        raw = ctx
        role = .client
        verifiesPeer = verify
        try configureCommon()
        if verify {
            guard SSL_CTX_set_default_verify_paths(ctx) == 1 else { throw TLSError.fromQueue("cannot load the system CA store") }
            if let extraCAFile {
                guard SSL_CTX_load_verify_locations(ctx, extraCAFile, nil) == 1 else {
                    throw TLSError.fromQueue("cannot load CA file '\(extraCAFile)'")
                }
            }
        }
        SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        // ALPN: we speak HTTP/1.1 only; a server that would pick h2 must fall back.
        let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
        guard SSL_CTX_set_alpn_protos(ctx, alpn, UInt32(alpn.count)) == 0 else { throw TLSError.fromQueue("cannot set ALPN") }
        // Sessions are handed to the connection's TLSSessionCache (per origin), not kept in OpenSSL's cache.
        _ = kgb_SSL_CTX_set_session_cache_mode(ctx, kgb_SSL_SESS_CACHE_CLIENT_ONLY)
        SSL_CTX_sess_set_new_cb(ctx, onNewSession)
    }

    /// A server context with a certificate chain and key in PEM files (the mock upstream's TLS).
    public init(serverCertificate certificateFile: String, key keyFile: String) throws(TLSError) {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSError.fromQueue("cannot create a TLS context") }
        raw = ctx
        role = .server
        verifiesPeer = false
        try configureCommon()
        guard SSL_CTX_use_certificate_chain_file(ctx, certificateFile) == 1 else {
            throw TLSError.fromQueue("cannot load certificate '\(certificateFile)'")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, keyFile, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError.fromQueue("cannot load key '\(keyFile)'")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else { throw TLSError.fromQueue("the key does not match the certificate") }
        SSL_CTX_set_alpn_select_cb(ctx, selectHTTP11, nil)
    }

    private func configureCommon() throws(TLSError) {
        guard kgb_SSL_CTX_set_min_proto_version(raw, kgb_TLS1_2_VERSION) == 1 else {
            throw TLSError.fromQueue("cannot require TLS 1.2")
        }
        // An idle pooled connection gives its record buffers back.
        _ = kgb_SSL_CTX_set_mode(raw, kgb_SSL_MODE_RELEASE_BUFFERS)
    }

    deinit { SSL_CTX_free(raw) }
}

/// OpenSSL hands every new client session (TLS 1.3: each ticket) here; the engine that made it keeps it.
private func onNewSession(_ ssl: OpaquePointer?, _ session: OpaquePointer?) -> Int32 {
    guard let ssl, let session, let data = kgb_SSL_get_app_data(ssl) else { return 0 }
    let engine = Unmanaged<TLSEngine>.fromOpaque(data).takeUnretainedValue()
    guard let cache = engine.sessionCache else { return 0 }
    cache.store(session)
    return 1  // we own the reference now
}

/// The mock upstream accepts ALPN `http/1.1` and nothing else.
private func selectHTTP11(_ ssl: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
                          _ outLength: UnsafeMutablePointer<UInt8>?, _ offered: UnsafePointer<UInt8>?,
                          _ offeredLength: UInt32, _ arg: UnsafeMutableRawPointer?) -> Int32 {
    guard let offered else { return SSL_TLSEXT_ERR_NOACK }
    var index = 0
    while index < Int(offeredLength) {
        let length = Int(offered[index])
        let name = UnsafeBufferPointer(start: offered + index + 1, count: min(length, Int(offeredLength) - index - 1))
        if name.elementsEqual("http/1.1".utf8) {
            out?.pointee = offered + index + 1
            outLength?.pointee = UInt8(length)
            return SSL_TLSEXT_ERR_OK
        }
        index += 1 + length
    }
    return SSL_TLSEXT_ERR_NOACK
}
