// Where HeadWriter writes: a byte array (tests, local answers), or the loop's one raw buffer for rewritten heads
// (the gateway's, where a head's forty-odd pieces are each a bounds check and a memcpy, not a generic array append).

public protocol HeadOutput {
    mutating func write(_ bytes: UnsafeRawBufferPointer)
    mutating func write(_ byte: UInt8)
}

extension HeadOutput {
    @inline(__always)
    public mutating func write(_ text: StaticString) {
        write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always)
    public mutating func write(_ bytes: [UInt8]) { bytes.withUnsafeBytes { write($0) } }

    @inline(__always)
    public mutating func write(_ bytes: ArraySlice<UInt8>) { bytes.withUnsafeBytes { write($0) } }

    /// A decimal number, without leading zeros.
    public mutating func writeDecimal(_ value: UInt64) {
        withUnsafeTemporaryAllocation(byteCount: 20, alignment: 1) { digits in
            var at = 20
            var rest = value
            repeat {
                at -= 1
                digits[at] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest != 0
            write(UnsafeRawBufferPointer(rebasing: digits[at...]))
        }
    }
}

extension Array: HeadOutput where Element == UInt8 {
    @inline(__always)
    public mutating func write(_ bytes: UnsafeRawBufferPointer) { appendRaw(bytes) }
    @inline(__always)
    public mutating func write(_ byte: UInt8) { append(byte) }
}
