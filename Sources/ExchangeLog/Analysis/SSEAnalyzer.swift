// Reads a text/event-stream body (already inflated) as the client's SDK would, in whatever pieces TCP delivered
// it, and keeps what the log wants: the event count, the answer's text and the usage the upstream reported.
import Glibc

/// Event splitting follows the WHATWG "server-sent events" parsing rules (html.spec.whatwg.org, §9.2.6);
/// each event's data is then read as Anthropic Messages or OpenAI Chat Completions JSON.
/// Owned by the logger thread, one per streamed response. Sendable by hand: its only pointers (`dataInPiece`,
/// `eventNameInPiece`) are nil whenever `feed` is not running.
public struct SSEAnalyzer: @unchecked Sendable {
    /// Dispatched events (comment lines are not events; neither is a block of only `event:`/`id:` lines).
    public private(set) var events = 0
    /// The answer as the SDK would accumulate it: text deltas, plus tool-input JSON fragments.
    /// Built from the accumulated bytes on each read; the logger reads it once, at the end (see `hasText`).
    public var text: String { String(decoding: textBytes, as: UTF8.self) }
    /// Some answer text arrived (cheap, unlike `text`: checked after every fragment for the first-token time).
    public var hasText: Bool { !textBytes.isEmpty }
    public private(set) var usage = Usage()

    /// An event larger than this is counted but not read: its data is dropped as it arrives, so one endless
    /// line from an upstream cannot grow the logger's memory without bound.
    public static let maxEventBytes = 1 << 20
    /// The answer text kept (`text`): its first MiB, cut at a character. The logger's memory must not grow with the
    /// length of an answer; the body (or its file) holds all of it.
    public static let maxTextBytes = 1 << 20

    /// `text` as UTF-8: every piece appended is valid UTF-8 on its own (a decoded JSON string).
    /// The answer's text so far, as UTF-8 (read it through this, not a copy of the analyser: a copy retains all
    /// its buffers).
    public private(set) var textBytes: [UInt8] = []
    /// The start of a line that the last piece cut off (without its line end). A line wholly inside one piece
    /// is read where it lies and never copied here.
    private var line: [UInt8] = []
    // The event's fields so far.
    private var data: [UInt8] = []
    private var hasData = false
    private var eventName: [UInt8] = []
    /// The event's data and name where they lie in the piece being fed, not copied: most events are one `event:`
    /// line and one `data:` line inside one piece. Valid during `feed` only; copied into `data` and `eventName` when
    /// the piece ends before the event does. (Copying every event cost a copy per event, and a buffer per open stream
    /// held as long as the stream.)
    private var dataInPiece: UnsafeRawBufferPointer?
    private var eventNameInPiece: UnsafeRawBufferPointer?
    /// The event's data bytes so far, as `data` would hold them (each line and its LF).
    private var dataCount: Int { data.count + (dataInPiece.map { $0.count + 1 } ?? 0) }
    /// The last piece ended in CR: an LF opening the next piece belongs to the same line end.
    private var afterCR = false
    /// A leading U+FEFF is stripped from the stream, not the first line of every piece.
    private var atStreamStart = true
    /// Bytes of the current line were dropped (event too large); the line is ignored at its end.
    private var lineDropped = false
    private var oversized = false

    public init() {}

    /// As a new analyser, keeping the buffers' memory (the logger reuses one per open stream) unless a large
    /// stream grew them.
    public mutating func reset() {
        events = 0
        usage = Usage()
        Self.empty(&textBytes)
        Self.empty(&line)
        Self.empty(&data)
        Self.empty(&eventName)
        hasData = false
        afterCR = false
        atStreamStart = true
        lineDropped = false
        oversized = false
    }

    /// Buffer memory a reused analyser keeps.
    static let keptCapacity = 64 * 1024

    private static func empty(_ buffer: inout [UInt8]) {
        if buffer.capacity > keptCapacity { buffer = [] } else { buffer.removeAll(keepingCapacity: true) }
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return }
        defer { keepEventPastPiece() }
        var start = 0
        if afterCR {
            afterCR = false
            if bytes[0] == .lf { start = 1 }
        }
        while start < count {
            // The line end: the first LF or CR (CR is rare, so look for it only before the LF).
            var end = memchr(base + start, Int32(UInt8.lf), count - start).map { base.distance(to: UnsafeRawPointer($0)) }
                ?? count
            if end > start, let cr = memchr(base + start, Int32(UInt8.cr), end - start) {
                end = base.distance(to: UnsafeRawPointer(cr))
            }
            let piece = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            if end == count {
                appendToLine(piece)
                break
            }
            // A line end: LF, CR, or CR LF, which may straddle two pieces.
            if bytes[end] == .cr {
                if end + 1 < count {
                    if bytes[end + 1] == .lf { end += 1 }
                } else {
                    afterCR = true
                }
            }
            if line.isEmpty && !lineDropped {
                endLine(piece, inPiece: true)
            } else {
                appendToLine(piece)
                endHeldLine()
            }
            start = end + 1
        }
    }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// The body ended. The spec discards an event without its closing blank line; a stream cut by a proxy or a
    /// client going away often ends right there, so the last event is kept when its data is complete JSON
    /// (or `[DONE]`) and only a truly cut-off one is dropped.
    public mutating func finish() {
        if !line.isEmpty || lineDropped {
            var held = takeLine()
            held.withUnsafeBytes { processLine($0, inPiece: false) }
            held.removeAll()
            line = held
        }
        if hasData || oversized { dispatch(requireComplete: true) }
        line.removeAll()
        afterCR = false
    }

    // MARK: Lines and fields

    private mutating func appendToLine(_ piece: UnsafeRawBufferPointer) {
        guard !piece.isEmpty else { return }
        if oversized || line.count + dataCount + piece.count > Self.maxEventBytes {
            oversized = true
            lineDropped = true
            return
        }
        line.appendBytes(piece)
    }

    /// The held line (`line`) ended.
    private mutating func endHeldLine() {
        var held = takeLine()
        held.withUnsafeBytes { endLine($0, inPiece: false) }
        held.removeAll(keepingCapacity: true)
        line = held
    }

    /// `line` moved out, so it can be read while `self` changes.
    private mutating func takeLine() -> [UInt8] {
        var held: [UInt8] = []
        swap(&held, &line)
        return held
    }

    /// A whole line: the held start plus the rest of it, or (nothing held) the bytes where they lie in the piece.
    private mutating func endLine(_ whole: UnsafeRawBufferPointer, inPiece: Bool) {
        if whole.isEmpty && !lineDropped {
            atStreamStart = false
            dispatch(requireComplete: false)
            return
        }
        // The same bound appendToLine applies to a line copied in.
        if !lineDropped, line.isEmpty, oversized || dataCount + whole.count > Self.maxEventBytes {
            // (`line` is empty here both for an in-place line and for a held one, which was moved out.)
            oversized = true
            lineDropped = true
        }
        processLine(whole, inPiece: inPiece)
    }

    /// `inPiece`: the line lies in the piece being fed (so it may be read in place until the piece ends).
    private mutating func processLine(_ line: UnsafeRawBufferPointer, inPiece: Bool) {
        defer { atStreamStart = false }
        if lineDropped {
            lineDropped = false
            return
        }
        var fieldStart = 0
        if atStreamStart, line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF { fieldStart = 3 }
        guard fieldStart < line.count, line[fieldStart] != .colon else { return }  // comment (or a bare BOM)
        let colon = line[fieldStart...].firstIndex(of: .colon) ?? line.count
        var valueStart = min(colon + 1, line.count)
        if valueStart < line.count, line[valueStart] == .space { valueStart += 1 }
        let name = UnsafeRawBufferPointer(rebasing: line[fieldStart..<colon])
        let value = UnsafeRawBufferPointer(rebasing: line[valueStart...])
        if DeltaFastPath.equals(name, "data") {
            if inPiece && !hasData {
                dataInPiece = value
            } else {
                // Data lines are joined with LF; the trailing one is dropped at dispatch.
                copyDataInPiece()
                data.appendBytes(value)
                data.append(.lf)
            }
            hasData = true
        } else if DeltaFastPath.equals(name, "event") {
            eventName.removeAll(keepingCapacity: true)
            if inPiece { eventNameInPiece = value } else { eventNameInPiece = nil; eventName.appendBytes(value) }
        }
        // `id` and `retry` steer reconnection, which says nothing about usage; other fields are ignored by spec.
    }

    /// The piece ends inside an event: what of it was read in place is copied, since the piece's bytes go.
    private mutating func keepEventPastPiece() {
        copyDataInPiece()
        if let name = eventNameInPiece {
            eventName.appendBytes(name)
            eventNameInPiece = nil
        }
    }

    private mutating func copyDataInPiece() {
        guard let value = dataInPiece else { return }
        data.appendBytes(value)
        data.append(.lf)
        dataInPiece = nil
    }

    // MARK: Events

    private mutating func dispatch(requireComplete: Bool) {
        defer {
            data.removeAll(keepingCapacity: true)
            eventName.removeAll(keepingCapacity: true)
            dataInPiece = nil
            eventNameInPiece = nil
            hasData = false
            oversized = false
        }
        if oversized {
            events += 1
            return
        }
        // No data, no event (spec): a block of only comments or `event:` lines dispatches nothing.
        guard hasData else { return }
        if let inPiece = dataInPiece {
            return dispatch(inPiece, requireComplete: requireComplete)
        }
        data.removeLast()
        // Read where it lies (moved out of `data` so the reading can change `self`).
        var event: [UInt8] = []
        swap(&event, &data)
        defer { swap(&event, &data) }
        event.withUnsafeBytes { dispatch($0, requireComplete: requireComplete) }
    }

    /// One event's data (its lines joined by LF), checked once, not parsed into a tree.
    private mutating func dispatch(_ data: UnsafeRawBufferPointer, requireComplete: Bool) {
        // Most events are text deltas: read those without a JSON parser (see DeltaFastPath).
        let model = usage.model != nil
        // OpenAI's end marker: an event, but not JSON.
        let done = DeltaFastPath.equals(data, "[DONE]")
            || DeltaFastPath.appendAnthropicTextDelta(data, to: &textBytes)
            || (model && DeltaFastPath.appendOpenAIContentDelta(data, to: &textBytes))
        if textBytes.count > Self.maxTextBytes { capText() }
        if done || Self.carriesNothingRecorded(data) {
            events += 1
            return
        }
        let object = JSONView.validated(data).flatMap { $0.isObject ? $0 : nil }
        if requireComplete && object == nil { return }
        events += 1
        guard let object else { return }  // malformed JSON spoils this event only
        read(object)
    }

    /// Anthropic events the record takes nothing from but their count (ping, content_block_start/stop,
    /// message_stop), known by their top-level "type" without the JSON parser: parsing them was a large part
    /// of the logger's work per stream. Only a well-formed object qualifies; anything else takes the full path.
    private static func carriesNothingRecorded(_ data: UnsafeRawBufferPointer) -> Bool {
        var type: Range<Int>?
        guard let end = TopLevelScanner.forEachMember(data, { key, value in
                  if type == nil, TopLevelScanner.isKey(key, "type") { type = value }  // the first one, as before
              }),
              TopLevelScanner.skipSpace(data, end) == data.count, let type,
              type.count >= 2, data[type.lowerBound] == UInt8(ascii: "\"") else { return false }
        // The names are plain ASCII: compared as the bytes between the quotes (an escaped spelling takes the full path).
        let name = UnsafeRawBufferPointer(rebasing: data[(type.lowerBound + 1)..<(type.upperBound - 1)])
        return DeltaFastPath.equals(name, "ping") || DeltaFastPath.equals(name, "content_block_start")
            || DeltaFastPath.equals(name, "content_block_stop") || DeltaFastPath.equals(name, "message_stop")
    }

    /// Anthropic events carry their name again as "type"; trust the JSON, fall back to the `event:` field.
    private mutating func read(_ object: JSONView) {
        // The top-level members any case below reads, found in one pass.
        let top = object.members(["type", "message", "delta", "usage"])
        let type = top[0]?.stringValue ?? eventNameString
        switch type {
        case "message_start":
            if let message = top[1], message.isObject {
                APIShapes.anthropicMessage(message, into: &usage)
            }
        case "content_block_delta":
            guard let delta = top[2], delta.isObject else { return }
            let fields = delta.members(["type", "text", "partial_json"])
            switch fields[0]?.stringValue {
            case "text_delta": append(fields[1]?.stringValue ?? "")
            case "input_json_delta": append(fields[2]?.stringValue ?? "")
            default: break  // thinking and signature deltas are not the answer
            }
        case "message_delta":
            if let delta = top[2], delta.isObject, let reason = APIShapes.string(delta["stop_reason"]) {
                usage.stopReason = reason
            }
            APIShapes.anthropicUsage(top[3], into: &usage)
        default:
            if APIShapes.isOpenAIChat(object) { readOpenAIChunk(object) }
        }
    }

    /// The `event:` field's value, wherever it is held.
    private var eventNameString: String {
        if let eventNameInPiece { return String(decoding: eventNameInPiece, as: UTF8.self) }
        return String(decoding: eventName, as: UTF8.self)
    }

    private mutating func readOpenAIChunk(_ chunk: JSONView) {
        if let model = APIShapes.string(chunk["model"]) { usage.model = model }
        if let choice = APIShapes.firstChoice(chunk) {
            if let delta = choice["delta"], delta.isObject {
                append(delta["content"]?.stringValue ?? "")
                // Tool-call arguments stream as JSON fragments, like Anthropic's input_json_delta.
                if let calls = delta["tool_calls"]?.arrayValue {
                    for call in calls where call.isObject {
                        let function = call["function"]
                        append((function?.isObject == true ? function?["arguments"]?.stringValue : nil) ?? "")
                    }
                }
            }
            if let reason = APIShapes.string(choice["finish_reason"]) { usage.stopReason = reason }
        }
        APIShapes.openAIUsage(chunk["usage"], into: &usage)
    }
}

extension SSEAnalyzer {
    /// Cuts the text back to `maxTextBytes`, at the start of a character.
    private mutating func capText() {
        var cut = Self.maxTextBytes
        while cut > 0 && textBytes[cut] & 0xC0 == 0x80 { cut -= 1 }
        textBytes.removeSubrange(cut...)
    }

    private mutating func append(_ piece: String) {
        guard textBytes.count < Self.maxTextBytes else { return }
        textBytes.append(contentsOf: piece.utf8)
        if textBytes.count > Self.maxTextBytes { capText() }
    }
}

fileprivate extension UInt8 {
    static let lf = UInt8(ascii: "\n")
    static let cr = UInt8(ascii: "\r")
    static let colon = UInt8(ascii: ":")
    static let space = UInt8(ascii: " ")
}
