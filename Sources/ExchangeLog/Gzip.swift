// gzip in one call, for a batch a delivery thread posts (NDJSON compresses about tenfold).
internal import CZlib

enum Gzip {
    static func compress(_ input: [UInt8]) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            deflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        // windowBits 31: a gzip wrapper (RFC 1952), which Content-Encoding: gzip means. Level 1: the delivery
        // thread shares the CPU with the gateway, and JSON compresses well even at the fastest level.
        guard deflateInit2_(stream, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(input.count))) + 64)
        let produced = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target -> Int in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
                stream.pointee.avail_in = uInt(source.count)
                stream.pointee.next_out = target.bindMemory(to: Bytef.self).baseAddress
                stream.pointee.avail_out = uInt(target.count)
                guard deflate(stream, Z_FINISH) == Z_STREAM_END else { return -1 }
                return target.count - Int(stream.pointee.avail_out)
            }
        }
        return produced < 0 ? [] : Array(output[..<produced])
    }
}
