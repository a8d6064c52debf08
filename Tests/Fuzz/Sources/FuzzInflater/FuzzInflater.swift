// gzip/deflate inflation of logged answers. Properties:
// - any bytes, cut anywhere, inflate to the same output and verdict as whole (and never crash);
// - a payload compressed by zlib (gzip, zlib or raw deflate, any level) and cut anywhere inflates to the payload.
import CZlibFuzz
import ExchangeLog
import FuzzSupport

func fuzzInflater(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let cuts = [input.below(8192), input.below(8192)]
    let mode = input.byte()
    let payload = input.rest
    let encoding = mode & 1 == 0 ? "gzip" : "deflate"

    let (wholeOut, wholeOK) = inflate(payload, encoding, cuts: [])
    let (splitOut, splitOK) = inflate(payload, encoding, cuts: cuts)
    guard wholeOut == splitOut, wholeOK == splitOK else { violated("inflation is the same whole and split", "cuts \(cuts)") }

    // Window bits: 31 gzip, 15 zlib (both "deflate" on the wire in practice), -15 raw deflate.
    let windowBits: Int32 = [31, 15, -15][Int(mode >> 1) % 3]
    if windowBits == 31 && encoding != "gzip" { return 0 }
    if windowBits != 31 && encoding == "gzip" { return 0 }
    let compressed = compress(payload, level: Int32(mode >> 4) % 10, windowBits: windowBits)
    let (out, ok) = inflate(compressed, encoding, cuts: cuts)
    guard ok, out == payload else { violated("compressed bytes inflate to the payload", "\(encoding) bits \(windowBits)") }
    return 0
}

private func inflate(_ bytes: [UInt8], _ encoding: String, cuts: [Int]) -> ([UInt8], Bool) {
    guard let inflater = Inflater(contentEncoding: encoding) else { violated("gzip and deflate are known") }
    var out: [UInt8] = []
    var ok = true
    for piece in pieces(bytes, cuts: cuts) where ok { ok = inflater.inflate(piece, into: &out) }
    inflater.close()
    return (out, ok)
}

private func compress(_ bytes: [UInt8], level: Int32, windowBits: Int32) -> [UInt8] {
    var stream = z_stream()
    guard deflateInit2_(&stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                        Int32(MemoryLayout<z_stream>.size)) == Z_OK else { violated("deflateInit2") }
    defer { deflateEnd(&stream) }
    var input = bytes
    var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 64)
    let produced = input.withUnsafeMutableBufferPointer { source in
        out.withUnsafeMutableBufferPointer { target in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            stream.next_out = target.baseAddress
            stream.avail_out = uInt(target.count)
            guard deflate(&stream, Z_FINISH) == Z_STREAM_END else { violated("deflate") }
            return target.count - Int(stream.avail_out)
        }
    }
    return Array(out[0..<produced])
}
