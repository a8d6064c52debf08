// The protobuf wire format, as far as OTLP traces need it (varints, fixed64/fixed32, length-delimited bytes and
// nested messages), written into one growing byte buffer: no generated code and no protobuf library to link.

public struct ProtobufWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    /// The low three bits of a field's tag (https://protobuf.dev/programming-guides/encoding/).
    public enum WireType: UInt8, Sendable {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    // MARK: Scalars

    /// Base 128, least significant group first, the high bit saying "more follows".
    public mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    public mutating func tag(_ field: UInt32, _ type: WireType) {
        varint(UInt64(field) << 3 | UInt64(type.rawValue))
    }

    /// uint32, uint64 and enum fields.
    public mutating func uint64(_ field: UInt32, _ value: UInt64) {
        tag(field, .varint)
        varint(value)
    }

    /// int64 (and int32) fields: two's complement, so a negative value always takes ten bytes (not zigzag: that
    /// is sint64, which OTLP does not use).
    public mutating func int64(_ field: UInt32, _ value: Int64) {
        tag(field, .varint)
        varint(UInt64(bitPattern: value))
    }

    public mutating func bool(_ field: UInt32, _ value: Bool) {
        tag(field, .varint)
        bytes.append(value ? 1 : 0)
    }

    /// fixed64 fields: eight bytes, little-endian.
    public mutating func fixed64(_ field: UInt32, _ value: UInt64) {
        tag(field, .fixed64)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func fixed32(_ field: UInt32, _ value: UInt32) {
        tag(field, .fixed32)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// double fields: the IEEE 754 bits as a fixed64.
    public mutating func double(_ field: UInt32, _ value: Double) {
        fixed64(field, value.bitPattern)
    }

    // MARK: Length-delimited

    public mutating func bytes(_ field: UInt32, _ value: some Collection<UInt8>) {
        tag(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func string(_ field: UInt32, _ value: String) {
        bytes(field, value.utf8)
    }

    /// A nested message, written in place by `body`. Its length is not known until it is written, so one byte
    /// is reserved for it (enough below 128 bytes: most attributes); a longer message then moves up by the one
    /// to four bytes more its length needs. A byte is moved once per enclosing message of 128 bytes or more (a
    /// handful of levels in OTLP: request, resource spans, scope spans, span), so the cost stays linear in the
    /// request's size, with no scratch buffer per message.
    public mutating func message(_ field: UInt32, _ body: (inout ProtobufWriter) -> Void) {
        tag(field, .lengthDelimited)
        let lengthAt = bytes.count
        bytes.append(0)
        body(&self)
        let length = bytes.count - lengthAt - 1
        if length < 0x80 {
            bytes[lengthAt] = UInt8(length)
            return
        }
        var prefix = ProtobufWriter()
        prefix.varint(UInt64(length))
        bytes.replaceSubrange(lengthAt..<(lengthAt + 1), with: prefix.bytes)
    }
}
