// A ByteBuffer with one owner that frees it: a head gathering while llhttp reports its pieces (the parser), a
// payload an open exchange keeps (the logger). Not copyable, so it cannot be freed twice or outlive its memory.

public struct OwnedBytes: ~Copyable {
    @usableFromInline var buffer = ByteBuffer()

    public init() {}

    deinit { buffer.base?.deallocate() }

    @inlinable public var count: Int { buffer.count }
    @inlinable public var isEmpty: Bool { buffer.isEmpty }

    /// The contents; valid until the next change.
    @inlinable public var bytes: UnsafeRawBufferPointer { buffer.bytes }

    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(buffer.bytes)
    }

    @inlinable @inline(__always)
    public mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(bytes) }

    @inlinable @inline(__always)
    public mutating func append(_ byte: UInt8) { buffer.append(byte) }

    @inlinable @inline(__always)
    public mutating func append(_ first: UInt8, _ second: UInt8) { buffer.append(first, second) }

    /// The contents are now `bytes` (the memory is kept when it is big enough).
    @inlinable @inline(__always)
    public mutating func set(_ bytes: UnsafeRawBufferPointer) { buffer.set(bytes) }

    /// Empty; memory past `kept` bytes is given back.
    public mutating func clear(keepingUpTo kept: Int = .max) { buffer.clear(keepingUpTo: kept) }

    /// Empty, and the memory given back (a connection whose message goes on long after its head holds none).
    public mutating func release() { buffer.release() }
}
