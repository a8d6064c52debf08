// The TLS engine with no socket: a client and a server engine joined by their ciphertext, as the loop joins an
// engine to its TCP stream. Handshake, data both ways, a record split at every byte, alerts and close_notify.
import Foundation
import TLS
import Testing

/// A throw-away certificate for localhost (and its key), made with the openssl command as the integration tests do.
private let certificate: (cert: String, key: String) = {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kgb-tls-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let cert = folder.appendingPathComponent("cert.pem").path, key = folder.appendingPathComponent("key.pem").path
    let openssl = Process()
    openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    openssl.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                         "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
    openssl.standardError = FileHandle.nullDevice
    try? openssl.run()
    openssl.waitUntilExit()
    return (cert, key)
}()

/// What `sender` has to send, received by `receiver` (the bytes a socket pair would carry).
private func deliver(from sender: TLSEngine, to receiver: TLSEngine) {
    let bytes = ciphertext(of: sender)
    bytes.withUnsafeBytes { receiver.receive($0) }
}

private func ciphertext(of engine: TLSEngine) -> [UInt8] {
    var out: [UInt8] = []
    engine.takeCiphertext { out.append(contentsOf: $0) }
    return out
}

/// Runs both handshakes to their end, passing each engine's ciphertext to the other.
private func handshake(_ client: TLSEngine, _ server: TLSEngine) -> (TLSEngine.Progress, TLSEngine.Progress) {
    var clientProgress = client.handshake(), serverProgress = TLSEngine.Progress.wantMore
    for _ in 0..<10 {
        deliver(from: client, to: server)
        if serverProgress != .done { serverProgress = server.handshake() }
        deliver(from: server, to: client)
        if clientProgress != .done { clientProgress = client.handshake() }
        if clientProgress == .done && serverProgress == .done { break }
        if case .failed = clientProgress { break }
        if case .failed = serverProgress { break }
    }
    return (clientProgress, serverProgress)
}

private func pair(trustingServer: Bool = true) throws -> (TLSEngine, TLSEngine) {
    let clientContext = try TLSContext(clientVerifying: true, extraCAFile: trustingServer ? certificate.cert : nil)
    let serverContext = try TLSContext(serverCertificate: certificate.cert, key: certificate.key)
    return (try TLSEngine(client: clientContext, host: "localhost", sessionCache: nil), try TLSEngine(server: serverContext))
}

/// Everything `engine` can decrypt now.
private func plaintext(_ engine: TLSEngine) -> (bytes: [UInt8], last: TLSEngine.ReadResult) {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let result = buffer.withUnsafeMutableBytes { engine.read(into: $0) }
        guard case .bytes(let count) = result else { return (out, result) }
        out += buffer[0..<count]
    }
}

@Test func handshakeCompletesWithSNIAndData() throws {
    let (client, server) = try pair()
    let (clientDone, serverDone) = handshake(client, server)
    #expect(clientDone == .done && serverDone == .done)
    #expect(server.serverName == "localhost")
    #expect(!client.resumedSession)
    let request = Array("POST /v1/messages HTTP/1.1\r\n\r\n".utf8)
    #expect(request.withUnsafeBytes { client.write($0) } == nil)
    deliver(from: client, to: server)
    #expect(plaintext(server).bytes == request)
    let answer = Array(repeating: UInt8(ascii: "x"), count: 50_000)  // several records
    #expect(answer.withUnsafeBytes { server.write($0) } == nil)
    deliver(from: server, to: client)
    let received = plaintext(client)
    #expect(received.bytes.count == answer.count && received.bytes == answer, "\(received.bytes.count) bytes, then \(received.last)")
}

@Test func aRecordSplitAtEveryByteDecryptsTheSame() throws {
    let (client, server) = try pair()
    _ = handshake(client, server)
    // TLS 1.3 session tickets follow the handshake: let the client take them first.
    deliver(from: server, to: client)
    _ = plaintext(client)
    let message = Array("data: {\"type\":\"content_block_delta\",\"text\":\"é\"}\n\n".utf8)
    var cut = 0
    while true {
        #expect(message.withUnsafeBytes { server.write($0) } == nil)
        let record = ciphertext(of: server)  // each record is new: TLS numbers them, so none can be fed twice
        guard cut <= record.count else { break }
        record[..<cut].withUnsafeBytes { client.receive($0) }
        let first = plaintext(client)
        record[cut...].withUnsafeBytes { client.receive($0) }
        let second = plaintext(client)
        #expect(first.bytes + second.bytes == message, "cut at \(cut)")
        #expect(cut == record.count || first.bytes.isEmpty, "nothing before the whole record is there")
        #expect(second.last == .wantMore)
        cut += 1
    }
    #expect(cut > message.count, "every cut of a whole record was tried")
}

@Test func anUntrustedCertificateFailsBothSidesWithAnAlert() throws {
    let (client, server) = try pair(trustingServer: false)
    let (clientProgress, serverProgress) = handshake(client, server)
    guard case .failed(let clientWhy) = clientProgress else { Issue.record("client accepted an untrusted certificate"); return }
    #expect(clientWhy.contains("certificate"), "\(clientWhy)")
    // The client's alert reaches the server, whose handshake then fails too.
    deliver(from: client, to: server)
    guard case .failed(let serverWhy) = server.handshake() else {
        Issue.record("server did not see the alert (\(serverProgress))")
        return
    }
    #expect(serverWhy.contains("alert"), "\(serverWhy)")
}

@Test func closeNotifyEndsTheStream() throws {
    let (client, server) = try pair()
    _ = handshake(client, server)
    server.shutdown()
    deliver(from: server, to: client)
    #expect(plaintext(client).last == .closed)
}
