// A growable byte buffer with manual lifetime: bytes a socket could not take at once, a head being rewritten.

/// Not copy-on-write: it must have exactly one owner (a stream, the gateway), which frees it with `release()`.
public struct ByteBuffer {
    private(set) var base: UnsafeMutableRawPointer?
    public private(set) var count = 0
    private(set) var capacity = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }

    /// The contents; valid until the next change.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    @inline(__always)
    public mutating func append(_ byte: UInt8) {
        if count == capacity { reserve(count &+ 1) }
        base.unsafelyUnwrapped.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    @inline(__always)
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0 else { return }
        if capacity &- count < n { reserve(count &+ n) }
        (base.unsafelyUnwrapped + count).copyMemory(from: bytes.baseAddress.unsafelyUnwrapped, byteCount: n)
        count &+= n
    }

    mutating func reserve(_ needed: Int) {
        guard needed > capacity else { return }
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

    /// Forgets the contents; keeps small allocations for reuse and frees large ones, so a connection that
    /// once had a burst does not hold its peak forever.
    public mutating func clear() {
        count = 0
        if capacity > 64 * 1024 { release() }
    }

    public mutating func release() {
        base?.deallocate()
        base = nil
        count = 0
        capacity = 0
    }
}
