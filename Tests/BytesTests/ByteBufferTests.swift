// The raw byte buffers hold exactly what was appended, in order, through growth; emptying keeps memory up to the
// limit given and gives back what is past it.
import Bytes
import Testing

@Test func appendsAgreeWithAnArrayThroughEveryGrowth() {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<50 {
        var buffer = ByteBuffer()
        var owned = OwnedBytes()
        var reference: [UInt8] = []
        for _ in 0..<Int.random(in: 1...300, using: &generator) {
            switch Int.random(in: 0..<4, using: &generator) {
            case 0:
                let byte = UInt8.random(in: 0...255, using: &generator)
                buffer.append(byte); owned.append(byte); reference.append(byte)
            case 1:
                let pair = (UInt8.random(in: 0...255, using: &generator), UInt8.random(in: 0...255, using: &generator))
                buffer.append(pair.0, pair.1); owned.append(pair.0, pair.1); reference += [pair.0, pair.1]
            case 2:
                let piece = (0..<Int.random(in: 0...700, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                piece.withUnsafeBytes { buffer.append($0); owned.append($0) }
                reference += piece
            default:
                let piece = (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                piece.withUnsafeBytes { buffer.set($0); owned.set($0) }
                reference = piece
            }
            #expect(Array(buffer.bytes) == reference)
            let (ownedBytes, ownedCount) = (owned.withUnsafeBytes { Array($0) }, owned.count)
            #expect(ownedBytes == reference && ownedCount == reference.count)
        }
        buffer.release()
    }
}

@Test func emptyingKeepsMemoryUpToTheLimitAndGivesBackTheRest() {
    var buffer = ByteBuffer()
    let small = [UInt8](repeating: 7, count: 1000)
    small.withUnsafeBytes { buffer.append($0) }
    let kept = buffer.base
    buffer.clear()
    #expect(buffer.isEmpty && buffer.base == kept && buffer.capacity >= 1000, "a small buffer is kept for reuse")
    let large = [UInt8](repeating: 9, count: 100_000)
    large.withUnsafeBytes { buffer.append($0) }
    buffer.clear()
    #expect(buffer.isEmpty && buffer.base == nil && buffer.capacity == 0, "past 64 KiB by default it is given back")
    small.withUnsafeBytes { buffer.append($0) }
    buffer.clear(keepingUpTo: 100)
    #expect(buffer.base == nil, "past the limit given")

    var owned = OwnedBytes()
    large.withUnsafeBytes { owned.append($0) }
    owned.clear()
    let emptied = owned.isEmpty && owned.count == 0
    #expect(emptied)
    small.withUnsafeBytes { owned.append($0) }
    let again = owned.withUnsafeBytes { Array($0) }
    #expect(again == small, "appends after emptying start from the beginning")
    owned.release()
    let released = owned.isEmpty
    #expect(released)
}
