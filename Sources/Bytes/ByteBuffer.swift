// Growable bytes in raw memory: bytes a socket could not take at once, a head being rewritten or gathered, a payload
// an open exchange keeps. Appending is a bounds check and a copy; a Swift array's generic append was ~70
// instructions a piece (a uniqueness call, a capacity check, a memcpy call), and emptying one for reuse about as much
// again. The one implementation under the loop's and the logger's buffers (OwnedBytes frees it with its owner).
// The appends are inlinable: they run for every piece of every head, in other modules.

/// Not copy-on-write and not freed by itself: it must have exactly one owner, which frees it with `release()` (or
/// holds it in an `OwnedBytes`, which does).
public struct ByteBuffer {
    @usableFromInline var storage: UnsafeMutableRawPointer?
    @usableFromInline var used = 0
    @usableFromInline var allocated = 0

    public init() {}

    public var base: UnsafeMutableRawPointer? { storage }
    @inlinable public var count: Int { used }
    public var capacity: Int { allocated }
    @inlinable public var isEmpty: Bool { used == 0 }

    /// The contents; valid until the next change.
    @inlinable public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: used) }

    @inlinable @inline(__always)
    public mutating func append(_ byte: UInt8) {
        if used == allocated { reserve(used &+ 1) }
        storage.unsafelyUnwrapped.storeBytes(of: byte, toByteOffset: used, as: UInt8.self)
        used &+= 1
    }

    @inlinable @inline(__always)
    public mutating func append(_ first: UInt8, _ second: UInt8) {
        if used &+ 2 > allocated { reserve(used &+ 2) }
        storage.unsafelyUnwrapped.storeBytes(of: first, toByteOffset: used, as: UInt8.self)
        storage.unsafelyUnwrapped.storeBytes(of: second, toByteOffset: used &+ 1, as: UInt8.self)
        used &+= 2
    }

    @inlinable @inline(__always)
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0 else { return }
        if allocated &- used < n { reserve(used &+ n) }
        (storage.unsafelyUnwrapped + used).copyMemory(from: bytes.baseAddress.unsafelyUnwrapped, byteCount: n)
        used &+= n
    }

    /// The contents are now `bytes` (the memory is kept when it is big enough).
    @inlinable @inline(__always)
    public mutating func set(_ bytes: UnsafeRawBufferPointer) {
        used = 0
        append(bytes)
    }

    /// Room for `needed` bytes in all: at least 256, doubling.
    @usableFromInline
    mutating func reserve(_ needed: Int) {
        guard needed > allocated else { return }
        var size = max(allocated &* 2, 256)
        while size < needed { size &*= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        if let storage {
            grown.copyMemory(from: storage, byteCount: used)
            storage.deallocate()
        }
        storage = grown
        allocated = size
    }

    /// Empty; memory past `kept` bytes is given back, so a buffer that once held a burst does not hold its peak
    /// forever.
    public mutating func clear(keepingUpTo kept: Int = 64 * 1024) {
        used = 0
        if allocated > kept { release() }
    }

    /// Empty, and the memory given back.
    public mutating func release() {
        storage?.deallocate()
        storage = nil
        used = 0
        allocated = 0
    }
}
