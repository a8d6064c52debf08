// The byte pattern of /bytes and /chunks (byte i of a body is i % 251, a prime, so a shifted or dropped
// byte shows at once) and the source that serves a long body of it in bounded pieces.

enum PatternBytes {
    static let pieceSize = 64 * 1024

    /// The pattern from phase 0, long enough that any piece of up to `pieceSize` bytes at any phase is one
    /// slice of it: pieces are written without copying. Never freed; never written after setup.
    nonisolated(unsafe) private static let table: UnsafeRawBufferPointer = {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceSize + 251, alignment: 16)
        for index in 0..<bytes.count { bytes[index] = UInt8(index % 251) }
        return UnsafeRawBufferPointer(bytes)
    }()

    static func slice(offset: UInt64, count: Int) -> UnsafeRawBufferPointer {
        precondition(count <= pieceSize)
        return UnsafeRawBufferPointer(rebasing: table[Int(offset % 251)..<Int(offset % 251) + count])
    }
}

/// A pattern body in chunks of given sizes; a chunk larger than a piece is spread over several pieces.
final class PatternSource: BodySource {
    enum Chunks {
        /// `total` bytes in chunks of `size` (the last one shorter).
        case uniform(total: UInt64, size: UInt64)
        case list([UInt64])
    }

    private let chunks: Chunks
    private var chunkIndex = 0
    private var offset: UInt64 = 0
    private var leftInChunk: UInt64 = 0

    init(_ chunks: Chunks) { self.chunks = chunks }

    private func nextChunkSize() -> UInt64? {
        switch chunks {
        case .uniform(let total, let size):
            return offset < total ? min(size, total - offset) : nil
        case .list(let sizes):
            return chunkIndex < sizes.count ? sizes[chunkIndex] : nil
        }
    }

    var hasNext: Bool { leftInChunk > 0 || nextChunkSize() != nil }

    func next(timestamp: UInt64?) -> BodyPiece {
        var opens: Int? = nil
        if leftInChunk == 0 {
            leftInChunk = nextChunkSize()!
            chunkIndex += 1
            opens = Int(leftInChunk)
        }
        let count = Int(min(leftInChunk, UInt64(PatternBytes.pieceSize)))
        defer { offset += UInt64(count); leftInChunk -= UInt64(count) }
        return BodyPiece(bytes: .pattern(offset: offset, count: count), opensChunk: opens,
                         closesChunk: leftInChunk == UInt64(count))
    }
}
