// Where a head's pieces gather while llhttp reports them, before they become `HTTPHead.bytes` in one copy at the end
// of the head. A span appended to a Swift array went through the generic append (a uniqueness call, a capacity
// check, a memcpy call: ~70 instructions, ~20 spans and separators per exchange); here it is a bounds check and a
// copy, and the array takes the whole head at once.

struct HeadStaging: ~Copyable {
    private var base: UnsafeMutableRawPointer?
    private(set) var count = 0
    private var capacity = 0

    init() {}

    deinit { base?.deallocate() }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        if count &+ bytes.count > capacity { grow(count &+ bytes.count) }
        (base! + count).copyMemory(from: source, byteCount: bytes.count)
        count &+= bytes.count
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(count &+ 1) }
        base!.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    @inline(__always)
    mutating func append(_ first: UInt8, _ second: UInt8) {
        if count &+ 2 > capacity { grow(count &+ 2) }
        base!.storeBytes(of: first, toByteOffset: count, as: UInt8.self)
        base!.storeBytes(of: second, toByteOffset: count &+ 1, as: UInt8.self)
        count &+= 2
    }

    private mutating func grow(_ needed: Int) {
        var size = max(capacity * 2, 512)
        while size < needed { size *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        if let base {
            bigger.copyMemory(from: base, byteCount: count)
            base.deallocate()
        }
        base = bigger
        capacity = size
    }

    /// Empty, keeping the memory for the next head.
    mutating func clear() { count = 0 }

    /// Empty, and the memory given back (a connection whose message goes on long after its head holds none).
    mutating func release() {
        base?.deallocate()
        base = nil
        count = 0
        capacity = 0
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
