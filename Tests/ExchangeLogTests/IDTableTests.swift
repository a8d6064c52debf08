// The open-exchange table holds what a Dictionary would: random inserts, replacements, removals and lookups
// (sequential ids as the loop gives them, and ids that collide in the table), and it lets go of every value.
@testable import ExchangeLog
import Testing

private final class Box {
    let value: Int
    nonisolated(unsafe) static var alive = 0
    init(_ value: Int) { self.value = value; Box.alive += 1 }
    deinit { Box.alive -= 1 }
}

@Test func theTableAgreesWithADictionary() {
    var generator = SystemRandomNumberGenerator()
    for round in 0..<40 {
        do {
            var table = IDTable<Box>(capacity: round % 3 == 0 ? 1 : 64)
            var reference: [UInt64: Box] = [:]
            // Round by round: ids near a counter (the loop's), ids spread wide, and ids that share a home slot
            // (multiples of a large power of two hash to few slots).
            let space: (inout SystemRandomNumberGenerator) -> UInt64 = switch round % 3 {
            case 0: { UInt64.random(in: 1_000...1_400, using: &$0) }
            case 1: { UInt64.random(in: 0...UInt64.max, using: &$0) }
            default: { UInt64.random(in: 0...40, using: &$0) << 58 }
            }
            for step in 0..<3_000 {
                let id = space(&generator)
                switch Int.random(in: 0..<10, using: &generator) {
                case 0..<4:
                    let box = Box(step)
                    table.insert(box, for: id)
                    reference[id] = box
                case 4..<7:
                    #expect(table.remove(id) === reference.removeValue(forKey: id), "round \(round) step \(step)")
                default:
                    #expect(table[id] === reference[id], "round \(round) step \(step)")
                }
                #expect(table.count == reference.count)
            }
            var seen: [Int] = []
            table.forEach { seen.append($0.value) }
            #expect(seen.sorted() == reference.values.map(\.value).sorted())
            for (id, box) in reference { #expect(table[id] === box) }
        }
        #expect(Box.alive == 0, "every value let go when the table and the dictionary are gone")
    }
}
