// Undoes a response's Content-Encoding (gzip or deflate) for the log, piece by piece as the body arrives, so
// SSE analysis and the stored body see what the client's SDK decoded.
private import CZlib

/// Owned by the logger thread, one per encoded body. The z_stream lives at a fixed address (zlib keeps
/// pointers into it) and is freed by `close()` or deinit.
public final class Inflater {
    private enum Format { case gzip, deflate }

    private let format: Format
    private let stream: UnsafeMutablePointer<z_stream>
    private let scratch: UnsafeMutablePointer<UInt8>
    private static let scratchSize = 32 * 1024
    /// "deflate" is zlib-wrapped by RFC 9110 §8.4.1.2, but some servers send raw deflate; which one is decided
    /// by the first two bytes, so zlib is initialised only once they have arrived (they may come one at a time).
    private var initialised = false
    private var firstByte: UInt8? = nil
    private var corrupt = false
    private var closed = false

    /// True after the end of a complete stream (the last gzip member's trailer, or the deflate end block)
    /// with nothing after it: a body without it was cut off.
    public private(set) var reachedEnd = false

    /// nil for "identity" and anything this logger cannot decode (br, zstd, a list of codings): the body is
    /// then logged as received.
    public init?(contentEncoding: String) {
        switch contentEncoding.trimmingASCIISpaces().lowercased() {
        case "gzip", "x-gzip": format = .gzip
        case "deflate": format = .deflate
        default: return nil
        }
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        scratch = .allocate(capacity: Inflater.scratchSize)
        if format == .gzip {
            // windowBits 15 + 16: expect a gzip header and trailer, not a zlib one.
            guard initialise(windowBits: 15 + 16) else { return nil }
        }
    }

    deinit {
        close()
        stream.deallocate()
        scratch.deallocate()
    }

    /// Frees zlib's state; later `inflate` calls decode nothing and return false.
    public func close() {
        guard !closed else { return }
        closed = true
        if initialised { inflateEnd(stream) }
    }

    /// Decodes `bytes` and appends the result to `out`. False when the stream is corrupt (now or earlier):
    /// whatever was decoded before the damage stays in `out`.
    public func inflate(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        guard !corrupt, !closed else { return false }
        guard !bytes.isEmpty else { return true }
        if initialised { return decode(bytes, into: &out) }

        // Deflate, not yet started: find two bytes to look at.
        guard let first = firstByte else {
            if bytes.count == 1 {
                firstByte = bytes[0]
                return true
            }
            guard initialise(windowBits: Self.isZlibHeader(bytes[0], bytes[1]) ? 15 : -15) else { return fail() }
            return decode(bytes, into: &out)
        }
        guard initialise(windowBits: Self.isZlibHeader(first, bytes[0]) ? 15 : -15) else { return fail() }
        firstByte = nil
        let held = withUnsafeBytes(of: first) { decode($0, into: &out) }
        return held && decode(bytes, into: &out)
    }

    public func inflate(_ bytes: [UInt8], into out: inout [UInt8]) -> Bool {
        bytes.withUnsafeBytes { inflate($0, into: &out) }
    }

    // MARK: zlib

    /// RFC 1950 §2.2: CM = 8 (deflate), CINFO ≤ 7, and the 16-bit header a multiple of 31. A raw deflate stream
    /// matches this by chance rarely; browsers and curl use the same test.
    private static func isZlibHeader(_ cmf: UInt8, _ flg: UInt8) -> Bool {
        cmf & 0x0F == 8 && cmf >> 4 <= 7 && (UInt16(cmf) << 8 | UInt16(flg)) % 31 == 0
    }

    private func initialise(windowBits: Int32) -> Bool {
        // inflateInit2 is a macro Swift cannot see: call what it expands to.
        let status = inflateInit2_(stream, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        initialised = status == Z_OK
        return initialised
    }

    private func fail() -> Bool {
        corrupt = true
        return false
    }

    private func decode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return true }
        if reachedEnd {
            // Bytes after the end: a deflate body is over (ignore them, as clients do); for gzip they must be
            // the next member (RFC 1952 §2.2: a file is a series of members), which zlib reads after a reset.
            guard format == .gzip else { return true }
            inflateReset(stream)
            reachedEnd = false
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(bytes.count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        while true {
            stream.pointee.next_out = scratch
            stream.pointee.avail_out = UInt32(Self.scratchSize)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            let produced = Self.scratchSize - Int(stream.pointee.avail_out)
            out.append(contentsOf: UnsafeBufferPointer(start: scratch, count: produced))
            switch status {
            case Z_OK:
                // A full output buffer may mean more output is waiting even with no input left.
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { return true }
            case Z_BUF_ERROR:
                // No progress possible: all input consumed, waiting for the next piece.
                return true
            case Z_STREAM_END:
                reachedEnd = true
                guard format == .gzip else { return true }
                guard stream.pointee.avail_in > 0 else { return true }
                inflateReset(stream)
                reachedEnd = false
            default:
                // Z_DATA_ERROR, Z_NEED_DICT (a preset dictionary no HTTP peer can have), Z_MEM_ERROR.
                return fail()
            }
        }
    }
}

private extension String {
    func trimmingASCIISpaces() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
