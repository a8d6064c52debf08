// The chunk-size line of a chunked body, read by its RFC 9112 §7.1 grammar, extensions included:
//
//   chunk-size [ chunk-ext ] CRLF
//   chunk-ext  = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
//
// llhttp 8.1 (what Debian ships) refuses valid extensions (a quoted-pair, whitespace around ";" and "="), which
// cut streams that nginx and HAProxy pass. So HTTPParser reads each size line with this scanner and hands llhttp a
// plain "HEX\r\n" instead; llhttp keeps every other part of the framing (data lengths, CRLFs, trailers). Extensions
// are read and dropped, as intermediaries do (nobody defines one). Anything outside the grammar fails closed.

/// A value type fed the bytes of one size line, in as many pieces as TCP cut it into.
public struct ChunkSizeLine: Sendable {
    public enum Outcome: Equatable, Sendable {
        /// Every byte given was part of the line; it goes on in the next piece.
        case needMore
        /// The line ended after `consumed` bytes of this piece (its CRLF included).
        case complete(consumed: Int, size: UInt64)
        case invalid(String)
    }

    /// A line longer than this (extensions, mostly) is refused: nobody needs it, and it bounds the work.
    public static let maxLength = 4096

    private enum State {
        case size, afterSize, beforeName, name, afterName, beforeValue, token, quoted, quotedPair, afterValue, lf
    }

    private var state = State.size
    private var digits = 0
    private var size: UInt64 = 0
    private var length = 0
    /// Whitespace since the last element: allowed only before ";" or "=".
    private var whitespaceSeen = false

    public init() {}

    public mutating func reset() { self = ChunkSizeLine() }

    public mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        for index in 0..<bytes.count {
            length += 1
            if length > ChunkSizeLine.maxLength {
                return .invalid("chunk size line longer than \(ChunkSizeLine.maxLength) bytes")
            }
            let byte = bytes[index]
            switch state {
            case .size:
                if let value = ASCII.hexValue(byte) {
                    guard size >> 60 == 0 else { return .invalid("chunk size too large") }
                    size = size << 4 | UInt64(value)
                    digits += 1
                    continue
                }
                guard digits > 0 else { return .invalid("invalid character in chunk size") }
                state = .afterSize
                if let failure = separator(byte, allowEquals: false) { return failure }
            case .afterSize:
                if let failure = separator(byte, allowEquals: false) { return failure }
            case .beforeName:
                if ChunkSizeLine.isWhitespace(byte) { continue }
                guard ASCII.isTokenByte(byte) else { return .invalid("invalid chunk extension name") }
                state = .name
            case .name:
                if ASCII.isTokenByte(byte) { continue }
                state = .afterName
                if let failure = separator(byte, allowEquals: true) { return failure }
            case .afterName:
                if let failure = separator(byte, allowEquals: true) { return failure }
            case .beforeValue:
                if ChunkSizeLine.isWhitespace(byte) { continue }
                if byte == UInt8(ascii: "\"") { state = .quoted; continue }
                guard ASCII.isTokenByte(byte) else { return .invalid("invalid chunk extension value") }
                state = .token
            case .token:
                if ASCII.isTokenByte(byte) { continue }
                state = .afterValue
                if let failure = separator(byte, allowEquals: false) { return failure }
            case .quoted:
                switch byte {
                case UInt8(ascii: "\""): state = .afterValue
                case UInt8(ascii: "\\"): state = .quotedPair
                case 0x09, 0x20...0x7E, 0x80...0xFF: continue  // qdtext (the two excluded are the cases above)
                default: return .invalid("invalid character in quoted chunk extension value")
                }
            case .quotedPair:
                guard byte == 0x09 || byte >= 0x20 && byte != 0x7F else {
                    return .invalid("invalid quoted-pair in chunk extension value")
                }
                state = .quoted
            case .afterValue:
                if let failure = separator(byte, allowEquals: false) { return failure }
            case .lf:
                guard byte == UInt8(ascii: "\n") else { return .invalid("chunk size line not ended by CRLF") }
                return .complete(consumed: index + 1, size: size)
            }
        }
        return .needMore
    }

    // After the size, a name or a value: whitespace (BWS) may precede ";" (or "=" after a name); CR ends the line.

    /// Handles a byte after a complete element; nil when it was accepted.
    private mutating func separator(_ byte: UInt8, allowEquals: Bool) -> Outcome? {
        switch byte {
        case UInt8(ascii: ";"): state = .beforeName
        case UInt8(ascii: "="): if allowEquals { state = .beforeValue } else { return .invalid("unexpected \"=\" in chunk extensions") }
        case UInt8(ascii: "\r"):
            // BWS only ever comes before ";" or "=": whitespace right before the CRLF is not in the grammar.
            if whitespaceSeen { return .invalid("whitespace before the end of a chunk size line") }
            state = .lf
        case 0x20, 0x09: whitespaceSeen = true; return nil
        default: return .invalid("invalid character after chunk size")
        }
        whitespaceSeen = false
        return nil
    }

    @inline(__always)
    private static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
}
