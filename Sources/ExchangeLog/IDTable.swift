// The logger's table of open exchanges by id: every ring record is looked up in it, and a Dictionary's hashing
// (SipHash over the key), probing and bookkeeping were ~4% of the logger's instructions per small exchange. Ids are
// the loop's exchange counter, so a multiplicative hash spreads them; open addressing with linear probing and
// backward-shift deletion (no tombstones), at most half full.

struct IDTable<Value: AnyObject>: ~Copyable {
    private var keys: UnsafeMutablePointer<UInt64>
    /// nil marks an empty slot; the table holds a strong reference to each value (passRetained / release).
    private var values: UnsafeMutablePointer<Unmanaged<Value>?>
    private var mask: Int
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int = 64) {
        var size = 16
        while size < capacity &* 2 { size &*= 2 }
        keys = .allocate(capacity: size)
        values = .allocate(capacity: size)
        values.initialize(repeating: nil, count: size)
        mask = size &- 1
        shift = UInt64(64 &- size.trailingZeroBitCount)
    }

    deinit {
        for slot in 0...mask { values[slot]?.release() }
        keys.deallocate()
        values.deallocate()
    }

    @inline(__always)
    private func home(_ id: UInt64) -> Int { Int(truncatingIfNeeded: (id &* 0x9E37_79B9_7F4A_7C15) &>> shift) }

    /// The slot holding `id`, or nil.
    @inline(__always)
    private func slot(of id: UInt64) -> Int? {
        var slot = home(id)
        while let _ = values[slot] {
            if keys[slot] == id { return slot }
            slot = (slot &+ 1) & mask
        }
        return nil
    }

    subscript(id: UInt64) -> Value? {
        guard let slot = slot(of: id) else { return nil }
        return values[slot]!.takeUnretainedValue()
    }

    /// Holds `value` under `id`, in place of any value it held.
    mutating func insert(_ value: Value, for id: UInt64) {
        if let slot = slot(of: id) {
            let old = values[slot]!
            values[slot] = .passRetained(value)
            old.release()
            return
        }
        if (count &+ 1) &* 2 > mask &+ 1 { grow() }
        var slot = home(id)
        while values[slot] != nil { slot = (slot &+ 1) & mask }
        keys[slot] = id
        values[slot] = .passRetained(value)
        count &+= 1
    }

    /// Takes the value held under `id` out of the table.
    mutating func remove(_ id: UInt64) -> Value? {
        guard var hole = slot(of: id) else { return nil }
        let value = values[hole]!.takeRetainedValue()
        values[hole] = nil
        count &-= 1
        // Backward shift: later entries of the run move into the hole when their home allows it, so a probe never
        // meets a gap before its key.
        var next = (hole &+ 1) & mask
        while values[next] != nil {
            let wanted = home(keys[next])
            // The entry at `next` may move to `hole` unless its home lies cyclically in (hole, next].
            let stays = hole <= next ? (wanted > hole && wanted <= next) : (wanted > hole || wanted <= next)
            if !stays {
                keys[hole] = keys[next]
                values[hole] = values[next]
                values[next] = nil
                hole = next
            }
            next = (next &+ 1) & mask
        }
        return value
    }

    /// Every value, in no particular order.
    func forEach(_ body: (Value) -> Void) {
        for slot in 0...mask {
            if let value = values[slot] { body(value.takeUnretainedValue()) }
        }
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values, oldSize = mask &+ 1
        let size = oldSize &* 2
        keys = .allocate(capacity: size)
        values = .allocate(capacity: size)
        values.initialize(repeating: nil, count: size)
        mask = size &- 1
        shift = UInt64(64 &- size.trailingZeroBitCount)
        for slot in 0..<oldSize {
            guard let value = oldValues[slot] else { continue }
            var to = home(oldKeys[slot])
            while values[to] != nil { to = (to &+ 1) & mask }
            keys[to] = oldKeys[slot]
            values[to] = value
        }
        oldKeys.deallocate()
        oldValues.deallocate()
    }
}
