// Appending raw bytes to a byte array as one copy.
extension Array where Element == UInt8 {
    /// `append(contentsOf:)` for a raw buffer, through a typed view so the bytes go in one memcpy: given the raw
    /// buffer itself, the generic append cannot see its bytes as contiguous elements and copies them one at a time
    /// (the parser hands a finished head to its array this way).
    @inline(__always)
    mutating func appendRaw(_ bytes: UnsafeRawBufferPointer) {
        append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
    }
}
