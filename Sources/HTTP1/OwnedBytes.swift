// Bytes in raw memory with one owner, freed with it: a head gathering while llhttp reports its pieces (the parser),
// a payload an open exchange keeps (the logger). Appending is a bounds check and a copy; a Swift array's generic
// append was ~70 instructions a piece (a uniqueness call, a capacity check, a memcpy call), and emptying one for
// reuse about as much again.

public struct OwnedBytes: ~Copyable {
    private var base: UnsafeMutableRawPointer?
    public private(set) var count = 0
    private var capacity = 0

    public init() {}

    deinit { base?.deallocate() }

    public var isEmpty: Bool { count == 0 }

    /// The contents; valid until the next change.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(bytes)
    }

    @inline(__always)
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        if count &+ bytes.count > capacity { grow(count &+ bytes.count) }
        (base.unsafelyUnwrapped + count).copyMemory(from: source, byteCount: bytes.count)
        count &+= bytes.count
    }

    @inline(__always)
    public mutating func append(_ byte: UInt8) {
        if count == capacity { grow(count &+ 1) }
        base.unsafelyUnwrapped.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    @inline(__always)
    public mutating func append(_ first: UInt8, _ second: UInt8) {
        if count &+ 2 > capacity { grow(count &+ 2) }
        base.unsafelyUnwrapped.storeBytes(of: first, toByteOffset: count, as: UInt8.self)
        base.unsafelyUnwrapped.storeBytes(of: second, toByteOffset: count &+ 1, as: UInt8.self)
        count &+= 2
    }

    /// The contents are now `bytes` (the memory is kept when it is big enough).
    public mutating func set(_ bytes: UnsafeRawBufferPointer) {
        count = 0
        append(bytes)
    }

    private mutating func grow(_ needed: Int) {
        var size = max(capacity &* 2, 256)
        while size < needed { size &*= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        if let base {
            bigger.copyMemory(from: base, byteCount: count)
            base.deallocate()
        }
        base = bigger
        capacity = size
    }

    /// Empty; memory past `kept` bytes is given back.
    public mutating func clear(keepingUpTo kept: Int = .max) {
        count = 0
        if capacity > kept { release() }
    }

    /// Empty, and the memory given back (a connection whose message goes on long after its head holds none).
    public mutating func release() {
        base?.deallocate()
        base = nil
        count = 0
        capacity = 0
    }
}
