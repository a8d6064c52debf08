// A stream's outbound queue without a socket: partial writes keep every byte in order, one write is in flight at
// a time, and the watermarks report congestion once and its end once.
@testable import UV
import Testing

private func bytes(_ count: Int, from start: UInt8 = 0) -> [UInt8] { (0..<count).map { start &+ UInt8(truncatingIfNeeded: $0) } }

/// Stages `pieces` as a flush would after the kernel took `written` bytes of them.
private func stage(_ queue: inout OutboundQueue, _ pieces: [[UInt8]], written: Int) {
    let buffers = pieces.map { piece -> UnsafeRawBufferPointer in
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: piece.count, alignment: 1)
        copy.copyBytes(from: piece)
        return UnsafeRawBufferPointer(copy)
    }
    queue.stageUnwritten(pieces: buffers.count, written: written) { buffers[$0] }
    buffers.forEach { $0.deallocate() }
}

private func inFlightBytes(_ queue: inout OutboundQueue) -> [UInt8]? {
    queue.beginWrite().map { Array($0) }
}

@Test func aPartialWriteStagesExactlyWhatTheKernelDidNotTake() {
    let pieces = [bytes(3), bytes(5, from: 10), bytes(1, from: 20), bytes(7, from: 30)]
    let all = pieces.flatMap { $0 }
    for written in 0...all.count {
        var queue = OutboundQueue()
        stage(&queue, pieces, written: written)
        #expect(queue.pendingBytes == all.count - written)
        #expect(queue.mayWriteDirectly == (written == all.count), "nothing may overtake staged bytes")
        let flying = inFlightBytes(&queue) ?? []
        #expect(flying == Array(all[written...]), "written \(written)")
        queue.release()
    }
}

@Test func oneWriteInFlightAtATimeAndBytesStayInOrder() {
    var queue = OutboundQueue()
    stage(&queue, [bytes(4)], written: 0)
    let first = inFlightBytes(&queue)
    #expect(first == bytes(4))
    #expect(queue.isWriting && !queue.mayWriteDirectly)
    stage(&queue, [bytes(2, from: 50)], written: 0)  // arrives while the first write is in flight
    let overtaking = queue.beginWrite()
    #expect(overtaking == nil, "the second waits for the first")
    #expect(queue.pendingBytes == 6)
    let firstDrained = queue.writeFinished()
    #expect(!firstDrained)
    let second = inFlightBytes(&queue)
    #expect(second == bytes(2, from: 50))
    let secondDrained = queue.writeFinished()
    #expect(!secondDrained)
    #expect(queue.pendingBytes == 0 && queue.mayWriteDirectly)
    queue.release()
}

@Test func watermarksReportCongestionAndItsEndOnce() {
    var queue = OutboundQueue()
    queue.highWatermark = 100
    queue.lowWatermark = 40
    stage(&queue, [bytes(60)], written: 0)
    #expect(!queue.isCongested, "at 60 of 100")
    _ = queue.beginWrite()
    stage(&queue, [bytes(30)], written: 0)
    stage(&queue, [bytes(30)], written: 0)
    #expect(queue.isCongested, "120 > 100")
    // The first write (60) completes: 60 left, still above the low watermark.
    let early = queue.writeFinished()
    #expect(!early)
    #expect(queue.isCongested)
    _ = queue.beginWrite()
    stage(&queue, [bytes(10)], written: 0)
    // That write (60) completes: 10 left ≤ 40, so the owner hears "drained" once.
    let drained = queue.writeFinished()
    #expect(drained)
    #expect(!queue.isCongested)
    _ = queue.beginWrite()
    let again = queue.writeFinished()
    #expect(!again, "no second drained without a second congestion")
    queue.release()
}

@Test func aFailedConnectionDropsWhatIsStaged() {
    var queue = OutboundQueue()
    stage(&queue, [bytes(10)], written: 4)
    queue.dropStaged()
    #expect(queue.pendingBytes == 0)
    let nothing = queue.beginWrite()
    #expect(nothing == nil)
}
