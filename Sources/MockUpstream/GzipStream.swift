// One gzip member produced incrementally with zlib, so an event stream can be compressed event by event and
// each event's bytes decoded by the client as soon as they arrive.
import CZlib

/// Owned by one response. The z_stream lives at a fixed address because zlib keeps pointers into it.
final class GzipStream {
    private let stream: UnsafeMutablePointer<z_stream>
    private let scratch: UnsafeMutablePointer<Bytef>
    private static let scratchSize = 64 * 1024

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        scratch = .allocate(capacity: GzipStream.scratchSize)
        // windowBits 31 = 15 plus 16: a gzip header and trailer instead of a zlib one. deflateInit2 is a macro
        // Swift cannot see, hence the underscored call with the version and struct size it would pass.
        let status = deflateInit2_(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed: \(status)")
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        scratch.deallocate()
    }

    /// Compresses `input`. `Z_SYNC_FLUSH` makes everything given so far decodable from the output alone;
    /// `Z_NO_FLUSH` lets zlib hold bytes back for a better ratio.
    func compress(_ input: UnsafeRawBufferPointer, flush: Int32) -> [UInt8] {
        var output: [UInt8] = []
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        // zlib's rule: while it fills the whole output buffer there may be more; call again.
        repeat {
            stream.pointee.next_out = scratch
            stream.pointee.avail_out = UInt32(GzipStream.scratchSize)
            _ = deflate(stream, flush)
            output.append(contentsOf: UnsafeBufferPointer(start: scratch, count: GzipStream.scratchSize - Int(stream.pointee.avail_out)))
        } while stream.pointee.avail_out == 0
        stream.pointee.next_in = nil
        return output
    }

    func compress(_ input: [UInt8], flush: Int32) -> [UInt8] {
        input.withUnsafeBytes { compress($0, flush: flush) }
    }

    /// The end of the member: whatever zlib still holds, and the CRC/length trailer.
    func finish() -> [UInt8] {
        var output: [UInt8] = []
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        var status: Int32
        repeat {
            stream.pointee.next_out = scratch
            stream.pointee.avail_out = UInt32(GzipStream.scratchSize)
            status = deflate(stream, Z_FINISH)
            output.append(contentsOf: UnsafeBufferPointer(start: scratch, count: GzipStream.scratchSize - Int(stream.pointee.avail_out)))
        } while status == Z_OK
        return output
    }

    /// A whole body compressed at once (a JSON response, whose Content-Length must be known up front).
    static func compressAll(_ input: [UInt8]) -> [UInt8] {
        let gzip = GzipStream()
        return gzip.compress(input, flush: Z_NO_FLUSH) + gzip.finish()
    }
}
