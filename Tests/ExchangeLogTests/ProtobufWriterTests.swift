// The protobuf wire format against bytes worked out by hand from https://protobuf.dev/programming-guides/encoding/.
import ExchangeLog
import Testing

@Test func varintsAreBase128LeastSignificantGroupFirst() {
    func encoded(_ value: UInt64) -> [UInt8] {
        var writer = ProtobufWriter()
        writer.varint(value)
        return writer.bytes
    }
    #expect(encoded(0) == [0x00])
    #expect(encoded(1) == [0x01])
    #expect(encoded(127) == [0x7f])
    #expect(encoded(128) == [0x80, 0x01])
    #expect(encoded(150) == [0x96, 0x01])  // the encoding guide's own example
    #expect(encoded(300) == [0xac, 0x02])
    #expect(encoded(16_383) == [0xff, 0x7f])
    #expect(encoded(16_384) == [0x80, 0x80, 0x01])
    #expect(encoded(UInt64.max) == [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
}

@Test func scalarFieldsCarryTheirTagAndWireType() {
    var writer = ProtobufWriter()
    writer.uint64(1, 150)                 // tag 1<<3|0 = 0x08
    writer.int64(3, -1)                   // two's complement: ten bytes, not zigzag
    writer.bool(2, false)                 // a default value is still written when asked (oneof members)
    writer.fixed64(7, 0x0102030405060708) // tag 7<<3|1 = 0x39, little-endian
    writer.fixed32(16, 0x0301)            // tag 16<<3|5 = 0x85 0x01: a field number above 15 takes two bytes
    writer.double(4, 1.0)                 // tag 4<<3|1 = 0x21, IEEE 754 0x3ff0000000000000
    #expect(writer.bytes == [0x08, 0x96, 0x01,
                             0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                             0x10, 0x00,
                             0x39, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
                             0x85, 0x01, 0x01, 0x03, 0x00, 0x00,
                             0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f])
}

@Test func stringsAndBytesAreLengthDelimited() {
    var writer = ProtobufWriter()
    writer.string(2, "testing")  // the guide's example: 12 07 74 65 73 74 69 6e 67
    writer.bytes(1, [UInt8]())
    writer.string(1, "é")        // the length counts UTF-8 bytes, not characters
    #expect(writer.bytes == [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67, 0x0a, 0x00, 0x0a, 0x02, 0xc3, 0xa9])
}

@Test func nestedMessagesGetTheirLengthInFront() {
    // The guide's Test3 { Test1 c = 3; } with Test1.a = 150: 1a 03 08 96 01.
    var writer = ProtobufWriter()
    writer.message(3) { $0.uint64(1, 150) }
    #expect(writer.bytes == [0x1a, 0x03, 0x08, 0x96, 0x01])

    var empty = ProtobufWriter()
    empty.message(1) { _ in }
    #expect(empty.bytes == [0x0a, 0x00])
}

@Test func nestedLengthsOfEveryWidth() {
    // Around each boundary of the length's varint (1, 2 and 3 bytes), three levels deep, with a field after the
    // long one: the bytes moved to make room for a longer length stay in order.
    for size in [0, 1, 126, 127, 128, 129, 300, 16_381, 16_383, 16_384, 70_000] {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var writer = ProtobufWriter()
        writer.message(1) { outer in
            outer.message(2) { inner in
                inner.bytes(3, payload)
                inner.uint64(4, 1)
            }
            outer.uint64(5, 2)
        }
        var length3 = ProtobufWriter(); length3.varint(UInt64(size))
        let field3 = [0x1a] + length3.bytes + payload
        let inner = field3 + [0x20, 0x01]
        var length2 = ProtobufWriter(); length2.varint(UInt64(inner.count))
        let outer = [0x12] + length2.bytes + inner + [0x28, 0x02]
        var length1 = ProtobufWriter(); length1.varint(UInt64(outer.count))
        #expect(writer.bytes == [0x0a] + length1.bytes + outer, "payload of \(size) bytes")
    }
}
