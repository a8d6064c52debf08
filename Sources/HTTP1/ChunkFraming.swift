// Chunked transfer coding (RFC 9112 §7.1): the size line before each chunk, CRLF after it, the last chunk.

public enum ChunkFraming {
    public static let chunkEnd: StaticString = "\r\n"
    public static let lastChunk: StaticString = "0\r\n\r\n"

    /// Writes `size` in lowercase hex followed by CRLF into `buffer`; returns the number of bytes written.
    /// 18 bytes always suffice (16 hex digits + CRLF).
    @inline(__always)
    public static func sizeLine(_ size: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var count = 1
        var probe = size >> 4
        while probe != 0 { count += 1; probe >>= 4 }
        var value = size
        for index in stride(from: count - 1, through: 0, by: -1) {
            let digit = UInt8(truncatingIfNeeded: value & 0xf)
            buffer[index] = digit < 10 ? 0x30 + digit : 0x57 + digit
            value >>= 4
        }
        buffer[count] = 0x0d
        buffer[count + 1] = 0x0a
        return count + 2
    }
}

extension StaticString {
    /// The string's UTF-8 bytes, for writing (static storage: valid for the program's life).
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: utf8Start, count: utf8CodeUnitCount) }
}
