// The agent keys one loop has already verified, so a request does not pay a SHA-256 (several thousand
// instructions through OpenSSL 3) every time. Found by a keyed hash (Swift's Hasher: SipHash with a random seed per
// process, so bucket timing tells an attacker nothing it could steer), then compared in constant time. Only keys that
// belong to an agent are kept, so the table never holds more than one entry per agent.

/// Loop-owned (one per gateway).
final class AgentKeyCache {
    private struct Entry {
        var hash: Int
        var key: [UInt8]
        var agent: Int
    }

    private var entries: [Entry?]
    private var count = 0
    private let mask: Int

    init(agents: Int) {
        var size = 8
        while size < agents * 2 { size <<= 1 }
        entries = Array(repeating: nil, count: size)
        mask = size - 1
    }

    func agent(presenting key: UnsafeRawBufferPointer) -> Int? {
        let hash = Self.hash(key)
        var index = hash & mask
        while let entry = entries[index] {
            if entry.hash == hash && Self.constantTimeEqual(entry.key, key) { return entry.agent }
            index = (index + 1) & mask
        }
        return nil
    }

    /// Keeps a key the registry verified (SHA-256) as `agent`'s.
    func remember(_ key: UnsafeRawBufferPointer, agent: Int) {
        guard count * 2 < entries.count, self.agent(presenting: key) == nil else { return }
        let hash = Self.hash(key)
        var index = hash & mask
        while entries[index] != nil { index = (index + 1) & mask }
        entries[index] = Entry(hash: hash, key: Array(key), agent: agent)
        count += 1
    }

    private static func hash(_ key: UnsafeRawBufferPointer) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: key)
        return hasher.finalize()
    }

    /// Every byte is compared whatever the first difference (lengths are not secret).
    private static func constantTimeEqual(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
