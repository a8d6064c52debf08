// Secret fingerprints: the HMAC is the real HMAC-SHA256 (RFC 4231 vectors), keyed, and short.
import ExchangeLog
import Testing

@Test func rfc4231TestVectors() {
    // Test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?") = 5bdcc146bf60754e…
    let jefe = Fingerprint(key: Array("Jefe".utf8))
    #expect(jefe.of(Array("what do ya want for nothing?".utf8)) == "sha256:5bdcc146bf60")
    // Test case 1: key 20 × 0x0b, "Hi There" = b0344c61d8db3853…
    let elevens = Fingerprint(key: [UInt8](repeating: 0x0b, count: 20))
    #expect(elevens.of("Hi There".utf8) == "sha256:b0344c61d8db")
}

@Test func anyCollectionOfBytes() {
    let fingerprint = Fingerprint(key: Array("Jefe".utf8))
    let secret = "what do ya want for nothing?"
    let expected = "sha256:5bdcc146bf60"
    #expect(fingerprint.of(secret.utf8) == expected)
    #expect(fingerprint.of(Array(secret.utf8)[...]) == expected)
    // Not contiguous: the copying path.
    #expect(fingerprint.of(Array(secret.utf8.reversed()).reversed()) == expected)
}

@Test func keysAndSecretsMatter() {
    let a = Fingerprint(key: Array("deployment-a".utf8))
    let b = Fingerprint(key: Array("deployment-b".utf8))
    let secret = Array("sk-ant-api03-AAAAAAAAAAAAAAAAAAAA".utf8)
    #expect(a.of(secret) != b.of(secret))
    #expect(a.of(secret) == a.of(secret))
    #expect(a.of(secret) != a.of(secret.dropLast()))
    // Empty key and empty secret are still well-defined.
    let empty = Fingerprint(key: [])
    #expect(empty.of([UInt8]()).count == "sha256:".count + 12)
    #expect(empty.of([UInt8]()) != a.of([UInt8]()))
    for value in [a.of(secret), empty.of([UInt8]())] {
        #expect(value.dropFirst(7).allSatisfy { "0123456789abcdef".contains($0) })
    }
}

@Test func secretHeaderNames() {
    #expect(Fingerprint.isSecret(headerName: "Authorization"))
    #expect(Fingerprint.isSecret(headerName: "X-API-Key"))
    #expect(Fingerprint.isSecret(headerName: "cookie"))
    #expect(Fingerprint.isSecret(headerName: "Set-Cookie"))
    #expect(Fingerprint.isSecret(headerName: "PROXY-AUTHORIZATION"))
    #expect(!Fingerprint.isSecret(headerName: "content-type"))
    #expect(!Fingerprint.isSecret(headerName: "anthropic-version"))
    #expect(Fingerprint.redactedHeaders.allSatisfy { $0 == $0.lowercased() })
}
