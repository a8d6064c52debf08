// The bytes of an upstream connection, over TCP or TLS over TCP: request bytes written before the connection is
// ready are kept and sent when it opens; after that, plaintext goes out as it is, or is gathered and encrypted into
// one TLS record per flush; what is read comes back as plaintext.
import TLS
import UV

/// Loop-owned, by the UpstreamConnection it carries bytes for.
final class UpstreamTransport {
    private(set) var stream: TCPStream?
    private var tls: TLSEngine?
    /// Request bytes written while connecting, then (over TLS) the plaintext gathered for the next record.
    private var pending: [UInt8] = []
    /// The exchange asked for the response not to be read (its client is slow, the log full), perhaps before the
    /// connection was open.
    private var readsHeldBack = false

    var isOpen: Bool { stream != nil }
    var resumedTLSSession: Bool { tls?.resumedSession ?? false }
    /// Request bytes pile up faster than the upstream takes them.
    var isCongested: Bool { stream?.isCongested ?? (pending.count > 256 * 1024) }
    var isReading: Bool { stream?.isReading ?? false }

    /// The connection is ready: what was written until now goes out. Returns whether anything was waiting, and why
    /// encrypting it failed, if it did.
    func open(_ stream: TCPStream, tls: TLSEngine?) -> (sentPending: Bool, failure: String?) {
        self.stream = stream
        self.tls = tls
        if readsHeldBack { stream.stopReading() }
        guard !pending.isEmpty else { return (false, nil) }
        if tls == nil {
            stream.write(copying: pending)
            pending.removeAll()
        }
        return (true, flush())
    }

    /// Between exchanges (pooled) or when the exchange wants its response read again.
    func startReading() {
        readsHeldBack = false
        stream?.startReading()
    }

    func holdReadsBack() {
        readsHeldBack = true
        stream?.stopReading()
    }

    /// Borrowed until `flush()` (copied while connecting, and over TLS into the record being gathered).
    func write(borrowing bytes: UnsafeRawBufferPointer) {
        if let stream, tls == nil { stream.write(borrowing: bytes) } else { pending.append(contentsOf: bytes) }
    }

    func write(copying bytes: UnsafeRawBufferPointer) {
        if let stream, tls == nil { stream.write(copying: bytes) } else { pending.append(contentsOf: bytes) }
    }

    /// Sends what was written (nothing while connecting); returns why encryption failed, if it did.
    func flush() -> String? {
        guard let stream else { return nil }
        guard let tls else {
            stream.flush()
            return nil
        }
        if let failure = tls.encrypt(&pending) { return failure }
        sendCiphertext()
        return nil
    }

    private func sendCiphertext() {
        guard let stream else { return }
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
        guard let tls, let stream else {
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

    func close() {
        stream?.close()
        stream = nil
    }

    func reset() {
        stream?.reset()
        stream = nil
    }
}
