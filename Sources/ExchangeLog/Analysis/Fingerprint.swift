// Stands in for a secret in the log (an API key, a bearer token, a cookie): a keyed hash that tells "same key
// as that other exchange" without the log ever holding anything that could be replayed or brute-forced offline.
private import COpenSSL

public struct Fingerprint: Sendable {
    /// Headers whose values never reach a sink, only their fingerprint. Lowercase.
    public static let redactedHeaders: Set<String> = [
        "x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie",
    ]

    public static func isSecret(headerName: String) -> Bool {
        redactedHeaders.contains(headerName.lowercased())
    }

    /// HMAC rather than a plain hash: API keys are long but tokens and cookies may not be, and without the key
    /// (per deployment, never logged) a leaked log cannot be used to confirm a guessed secret.
    private let key: [UInt8]

    public init(key: [UInt8]) {
        self.key = key
    }

    /// "sha256:" and the first 12 hex digits (48 bits) of HMAC-SHA256(key, secret): plenty to tell a handful of
    /// keys apart in one deployment, too little to be worth anything to an attacker.
    public func of(_ secret: some Collection<UInt8>) -> String {
        let digest = secret.withContiguousStorageIfAvailable { hmac(UnsafeRawBufferPointer($0)) }
            ?? Array(secret).withUnsafeBytes { hmac($0) }
        let hex = Array("0123456789abcdef".utf8)
        var out = Array("sha256:".utf8)
        for byte in digest.prefix(6) {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func hmac(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        // OpenSSL wants non-null pointers even for empty input; a one-byte stand-in with length 0 is never read.
        var none: UInt8 = 0
        let result = key.withUnsafeBytes { keyBytes in
            withUnsafeMutablePointer(to: &none) { stand in
                digest.withUnsafeMutableBufferPointer { md in
                    HMAC(EVP_sha256(),
                         keyBytes.baseAddress ?? UnsafeRawPointer(stand), Int32(keyBytes.count),
                         data.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(stand), data.count,
                         md.baseAddress, &length)
                }
            }
        }
        // Only an allocation failure inside libcrypto gets here; a log line is not worth limping on without it.
        precondition(result != nil && length == 32, "HMAC-SHA256 failed in libcrypto")
        return Array(digest.prefix(Int(length)))
    }
}
