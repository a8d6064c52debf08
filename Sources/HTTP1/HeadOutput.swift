// Where HeadWriter writes: a byte array (tests, local answers), or a HeadBuffer (the loop's one buffer for
// rewritten heads, where a head's thirty-odd pieces are each a bounds check and a memcpy).

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

/// A growable byte buffer with manual lifetime: not copy-on-write, so it must have exactly one owner, which
/// calls `release()`. Cleared and refilled for each head; it keeps its memory (a head is at most
/// `maxHeadBytes` plus what kgb adds).
public struct HeadBuffer: HeadOutput {
    private var base: UnsafeMutableRawPointer?
    public private(set) var count = 0
    private var capacity = 0

    public init() {}

    /// The bytes written since the last `clear()`; valid until the next write.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public mutating func clear() { count = 0 }

    @inline(__always)
    public mutating func write(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0 else { return }
        if capacity &- count < n { grow(to: count &+ n) }
        (base! + count).copyMemory(from: bytes.baseAddress!, byteCount: n)
        count &+= n
    }

    @inline(__always)
    public mutating func write(_ byte: UInt8) {
        if count == capacity { grow(to: count &+ 1) }
        base!.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    private mutating func grow(to needed: Int) {
        var newCapacity = max(capacity, 4096)
        while newCapacity < needed { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if let base {
            grown.copyMemory(from: base, byteCount: count)
            base.deallocate()
        }
        base = grown
        capacity = newCapacity
    }

    public mutating func release() {
        base?.deallocate()
        base = nil
        count = 0
        capacity = 0
    }
}
