// The bytes of a ready upstream connection, over TCP or TLS over TCP: plaintext written goes out as it is, or is
// gathered and encrypted into one TLS record per flush; what is read comes back as plaintext.
import TLS
import UV

/// Loop-owned, by the UpstreamConnection it carries bytes for.
final class UpstreamTransport {
    let stream: TCPStream
    private let tls: TLSEngine?
    /// Plaintext gathered for the next TLS record.
    private var plaintext: [UInt8] = []

    init(stream: TCPStream, tls: TLSEngine?) {
        self.stream = stream
        self.tls = tls
    }

    var resumedTLSSession: Bool { tls?.resumedSession ?? false }
    var isCongested: Bool { stream.isCongested }
    var isReading: Bool { stream.isReading }
    func startReading() { stream.startReading() }
    func stopReading() { stream.stopReading() }

    /// Borrowed until `flush()` (over TLS: copied into the record being gathered).
    func write(borrowing bytes: UnsafeRawBufferPointer) {
        if tls == nil { stream.write(borrowing: bytes) } else { plaintext.append(contentsOf: bytes) }
    }

    func write(copying bytes: UnsafeRawBufferPointer) {
        if tls == nil { stream.write(copying: bytes) } else { plaintext.append(contentsOf: bytes) }
    }

    /// Sends what was written; returns why encryption failed, if it did.
    func flush() -> String? {
        guard let tls else {
            stream.flush()
            return nil
        }
        if let failure = tls.encrypt(&plaintext) { return failure }
        sendCiphertext()
        return nil
    }

    private func sendCiphertext() {
        tls?.takeCiphertext { ciphertext in
            stream.write(borrowing: ciphertext)
            stream.flush()
        }
    }

    enum Ending { case closed, failed(String) }

    /// Hands `deliver` the plaintext of bytes read: as they are, or decrypted into the loop's derived buffer a
    /// buffer's worth at a time (each piece valid during the call; `deliver` returns false to stop). Returns how
    /// the TLS stream ended inside these bytes (close_notify, or a failure), if it did.
    func read(_ bytes: UnsafeRawBufferPointer, _ deliver: (UnsafeRawBufferPointer) -> Bool) -> Ending? {
        guard let tls else {
            _ = deliver(bytes)
            return nil
        }
        tls.receive(bytes)
        let result = tls.decryptReceived(into: stream.loop.derivedBuffer, deliver)
        sendCiphertext()  // reading can produce ciphertext too (key updates, alerts)
        switch result {
        case .closed: return .closed
        case .failed(let why): return .failed(why)
        case .bytes, .wantMore: return nil
        }
    }

    func close() { stream.close() }
    func reset() { stream.reset() }
}
