// The gateway builds each rewritten head in one raw buffer of the loop's (see Gateway.headOut).
import HTTP1
import UV
import Bytes

extension ByteBuffer: HeadOutput {
    @inline(__always)
    public mutating func write(_ bytes: UnsafeRawBufferPointer) { append(bytes) }
    @inline(__always)
    public mutating func write(_ byte: UInt8) { append(byte) }
}
