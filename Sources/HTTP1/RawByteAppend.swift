// Appending raw bytes to a byte array as one copy.
extension Array where Element == UInt8 {
    /// `append(contentsOf:)` for a raw buffer, as one memcpy: the generic version cannot see a raw buffer's bytes as
    /// contiguous elements and copies them one at a time (about 100 instructions for a header name; a rewritten head
    /// appends some thirty pieces).
    @inline(__always)
    mutating func appendRaw(_ bytes: UnsafeRawBufferPointer) {
        append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
    }
}
