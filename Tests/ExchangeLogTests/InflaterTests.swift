// Inflating gzip and deflate bodies made by zlib itself, split at every byte offset, in concatenated members,
// and damaged: the logger must decode what the client decoded, and keep what it could when it cannot.
import CZlib
import ExchangeLog
import Testing

/// Compresses `input` in one go with zlib: windowBits 31 = gzip, 15 = zlib-wrapped deflate, -15 = raw deflate.
func compress(_ input: [UInt8], windowBits: Int32) -> [UInt8] {
    var stream = z_stream()
    let status = deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    precondition(status == Z_OK)
    defer { deflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 64)
    var input = input
    let produced = input.withUnsafeMutableBufferPointer { source in
        output.withUnsafeMutableBufferPointer { dest in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            stream.next_out = dest.baseAddress
            stream.avail_out = UInt32(dest.count)
            precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
            return dest.count - Int(stream.avail_out)
        }
    }
    return Array(output[..<produced])
}

/// Some SSE text with a little deterministic noise, so the compressed form has literals and matches.
let plain: [UInt8] = {
    var bytes = Array(anthropicStream.utf8)
    var seed: UInt32 = 12345
    for _ in 0..<400 {
        seed = seed &* 1_103_515_245 &+ 12345
        bytes.append(UInt8(truncatingIfNeeded: seed >> 16))
    }
    return bytes
}()

/// Inflates `input` in pieces cut at `cuts`; the decoded bytes, whether every call succeeded, and `reachedEnd`.
func inflate(_ encoding: String, _ input: [UInt8], cuts: [Int] = []) throws -> (out: [UInt8], ok: Bool, ended: Bool) {
    let inflater = try #require(Inflater(contentEncoding: encoding))
    var out: [UInt8] = []
    var ok = true
    var start = 0
    for cut in cuts + [input.count] {
        ok = input[start..<cut].withUnsafeBytes { inflater.inflate($0, into: &out) } && ok
        start = cut
    }
    return (out, ok, inflater.reachedEnd)
}

@Test(arguments: [("gzip", Int32(31)), ("deflate", 15), ("deflate", -15)])
func splitAtEveryOffset(encoding: String, windowBits: Int32) throws {
    let compressed = compress(plain, windowBits: windowBits)
    for offset in 0...compressed.count {
        let result = try inflate(encoding, compressed, cuts: [offset])
        #expect(result.out == plain && result.ok && result.ended, "split at \(offset)")
    }
    let bytewise = try inflate(encoding, compressed, cuts: Array(0...compressed.count))
    #expect(bytewise.out == plain && bytewise.ok && bytewise.ended)
}

@Test func outputLargerThanOneScratchBuffer() throws {
    // 300 KB from a few hundred compressed bytes: one call must drain zlib's output repeatedly.
    let big = [UInt8](repeating: UInt8(ascii: "a"), count: 300_000) + plain
    let compressed = compress(big, windowBits: 31)
    #expect(compressed.count < 5_000)
    let result = try inflate("gzip", compressed)
    #expect(result.out == big && result.ok && result.ended)
}

@Test func concatenatedGzipMembers() throws {
    // RFC 1952: a gzip file is a series of members; clients decode them all.
    let first = Array("data: first member\n\n".utf8)
    let members = compress(first, windowBits: 31) + compress(plain, windowBits: 31)
    for offset in 0...members.count {
        let result = try inflate("gzip", members, cuts: [offset])
        #expect(result.out == first + plain && result.ok && result.ended, "split at \(offset)")
    }
}

@Test func truncatedStreamHasNotReachedItsEnd() throws {
    let compressed = compress(plain, windowBits: 31)
    let result = try inflate("gzip", Array(compressed.dropLast(20)))
    #expect(result.ok && !result.ended)
    #expect(plain.starts(with: result.out) && !result.out.isEmpty)
}

@Test func corruptDataFailsAndKeepsWhatCameBefore() throws {
    // A valid member, then bytes that are no gzip header: false, the first member's bytes kept.
    let member = compress(plain, windowBits: 31)
    let garbage = Array("hello, not gzip".utf8)
    let inflater = try #require(Inflater(contentEncoding: "gzip"))
    var out: [UInt8] = []
    #expect(inflater.inflate(member, into: &out))
    #expect(!inflater.inflate(garbage, into: &out))
    #expect(out == plain)
    // Once corrupt, always corrupt.
    #expect(!inflater.inflate(member, into: &out))
    #expect(out == plain)

    // A damaged CRC trailer: every byte decoded, then the check fails.
    var badCRC = member
    badCRC[badCRC.count - 6] ^= 0xFF
    let crc = try inflate("gzip", badCRC)
    #expect(!crc.ok && crc.out == plain)

    // Not gzip at all.
    #expect(try inflate("gzip", Array("{\"plain\": true}".utf8)).ok == false)
    // A zlib header with a damaged block: the first bytes decide "zlib", the block is invalid.
    var zlib = compress(plain, windowBits: 15)
    zlib[2] = 0xFF
    #expect(try inflate("deflate", zlib).ok == false)
}

@Test func contentEncodingNames() {
    #expect(Inflater(contentEncoding: "gzip") != nil)
    #expect(Inflater(contentEncoding: " GZip ") != nil)
    #expect(Inflater(contentEncoding: "x-gzip") != nil)
    #expect(Inflater(contentEncoding: "deflate") != nil)
    #expect(Inflater(contentEncoding: "identity") == nil)
    #expect(Inflater(contentEncoding: "br") == nil)
    #expect(Inflater(contentEncoding: "gzip, br") == nil)
    #expect(Inflater(contentEncoding: "") == nil)
}

@Test func closeIsIdempotent() throws {
    let inflater = try #require(Inflater(contentEncoding: "deflate"))
    var out: [UInt8] = []
    #expect(inflater.inflate(compress(plain, windowBits: -15), into: &out))
    inflater.close()
    inflater.close()
    #expect(!inflater.inflate([1, 2, 3], into: &out))
    #expect(out == plain)
}
