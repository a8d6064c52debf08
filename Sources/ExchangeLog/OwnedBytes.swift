// A payload an open exchange keeps (its start record, its response head): raw memory it owns, replaced in place by the
// next exchange that reuses the object. An array here cost a generic `removeAll(keepingCapacity:)` and a generic
// append per payload, ~300 instructions each against a bounds check and a memcpy.

struct OwnedBytes: ~Copyable {
    private var base: UnsafeMutableRawPointer?
    private(set) var count = 0
    private var capacity = 0

    init() {}

    deinit { base?.deallocate() }

    var isEmpty: Bool { count == 0 }

    /// The bytes are now `bytes` (the memory is kept when it is big enough).
    mutating func set(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > capacity {
            base?.deallocate()
            capacity = max(bytes.count, 256)
            base = .allocate(byteCount: capacity, alignment: 8)
        }
        if let source = bytes.baseAddress, bytes.count > 0 { base!.copyMemory(from: source, byteCount: bytes.count) }
        count = bytes.count
    }

    /// No bytes; memory past `kept` bytes is given back.
    mutating func clear(keepingUpTo kept: Int) {
        count = 0
        if capacity > kept { release() }
    }

    /// No bytes and no memory (a parked exchange's payload lives in the spool meanwhile).
    mutating func release() {
        base?.deallocate()
        base = nil
        count = 0
        capacity = 0
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }
}
