// Turns the ring's records (start, heads, body fragments, end) into one finished JSON line per exchange:
// inflates compressed answers, follows SSE streams for usage and text, and redacts secrets. Logger thread only.
import Foundation
import LogRing

final class RecordAssembler {
    private var open: [UInt64: ExchangeRecord] = [:]
    let bodyMax: Int
    let fingerprint: Fingerprint
    /// Distinguishes ids minted by different kgb processes writing to one store.
    let instance: UInt16
    private var sequence: UInt32 = 0
    let metrics: LoggerMetrics?

    init(bodyMax: Int, fingerprint: Fingerprint, instance: UInt16, metrics: LoggerMetrics? = nil) {
        self.bodyMax = bodyMax
        self.fingerprint = fingerprint
        self.instance = instance
        self.metrics = metrics
    }

    /// The loop's clock (uv_hrtime reads CLOCK_MONOTONIC too), to tell how long ago an exchange ended.
    static func monotonicNanos() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Applies one ring record; returns the finished JSON line (with "\n") when the record was an end.
    func apply(_ record: LogRecord) -> [UInt8]? {
        switch record.kind {
        case .padding: return nil
        case .start: start(record)
        case .requestHead: break
        case .requestBody:
            open[record.exchange]?.appendRequest(BodyRecord(record.payload).bytes, cap: bodyMax)
        case .responseHead: responseHead(record)
        case .responseBody:
            let body = BodyRecord(record.payload)
            open[record.exchange]?.appendResponse(body.bytes, at: body.readAt, cap: bodyMax)
        case .end:
            guard let exchange = open.removeValue(forKey: record.exchange) else { return nil }
            exchange.end(record.payload)
            return encode(exchange)
        }
        return nil
    }

    private func start(_ record: LogRecord) {
        let exchange = ExchangeRecord(exchange: record.exchange)
        let lines = PayloadText.lines(record.payload)
        guard lines.count >= 5 else { return }
        exchange.startedWallMicros = PayloadText.number(lines[0]) ?? 0
        exchange.startedMonotonic = PayloadText.number(lines[1]) ?? 0
        exchange.client = PayloadText.text(lines[2])
        exchange.upstream = PayloadText.text(lines[3])
        // "METHOD TARGET HTTP/x.y": the target has no spaces (the parser rejects them).
        if let (method, rest) = PayloadText.pair(lines[4], 0x20), let (target, version) = PayloadText.pair(rest, 0x20) {
            exchange.method = PayloadText.text(method)
            exchange.path = PayloadText.text(target)
            exchange.version = PayloadText.text(version)
        }
        exchange.requestHeaders = lines.dropFirst(5).compactMap(PayloadText.header)
        open[record.exchange] = exchange
    }

    private func responseHead(_ record: LogRecord) {
        guard let exchange = open[record.exchange] else { return }
        let lines = PayloadText.lines(record.payload)
        if let first = lines.first {
            exchange.status = PayloadText.number(PayloadText.pair(first, 0x20)?.0 ?? first).map { Int($0) }
        }
        exchange.responseHeaders = lines.dropFirst().compactMap(PayloadText.header)
        for (name, value) in exchange.responseHeaders {
            switch name.lowercased() {
            case "content-encoding":
                exchange.contentEncoding = value
                exchange.inflater = Inflater(contentEncoding: value.lowercased())
            case "content-type":
                let type = value.lowercased()
                exchange.isEventStream = type.hasPrefix("text/event-stream")
                exchange.isJSON = type.contains("json")
            default: break
            }
        }
        if exchange.isEventStream { exchange.sse = SSEAnalyzer() }
    }

    private func nextID(_ startedMicros: UInt64) -> String {
        sequence &+= 1
        // Time first (sortable as text), then the process, then a counter: unique across instances.
        return String(startedMicros, radix: 16).leftPadded(to: 14) + String(instance, radix: 16).leftPadded(to: 4)
            + String(sequence, radix: 16).leftPadded(to: 8)
    }

    private func encode(_ exchange: ExchangeRecord) -> [UInt8] {
        exchange.sse?.finish()
        var usage = exchange.sse?.usage
        var text: String? = exchange.sse?.text
        if exchange.sse == nil, exchange.isJSON, !exchange.responseTruncated, !exchange.responseBody.isEmpty {
            usage = JSONBodyUsage.usage(exchange.responseBody)
            text = nil
        }
        var json = JSONWriter()
        json.beginObject()
        json.key("id"); json.string(nextID(exchange.startedWallMicros))
        json.key("started_at"); json.string(RFC3339.micros(exchange.startedWallMicros))
        json.key("client"); json.string(exchange.client)
        json.key("method"); json.string(exchange.method)
        json.key("path"); json.string(exchange.path)
        json.key("upstream"); json.string(exchange.upstream)

        json.key("request"); json.beginObject()
        json.key("headers"); headers(exchange.requestHeaders, into: &json)
        json.key("body"); BodyEncoding.encode(exchange.requestBody, into: &json)
        // Byte counts are the gateway's (what crossed the wire), not what the log managed to keep.
        json.key("body_bytes"); json.int(exchange.figures.requestBytes.map { Int($0) } ?? exchange.requestBytes)
        json.key("truncated"); json.bool(exchange.requestTruncated)
        json.endObject()

        json.key("response")
        if let status = exchange.status {
            json.beginObject()
            json.key("status"); json.int(status)
            json.key("headers"); headers(exchange.responseHeaders, into: &json)
            json.key("body"); BodyEncoding.encode(exchange.responseBody, into: &json)
            json.key("body_bytes"); json.int(exchange.figures.responseBytes.map { Int($0) } ?? exchange.responseBytes)
            json.key("truncated"); json.bool(exchange.responseTruncated)
            json.key("content_encoding")
            if let encoding = exchange.contentEncoding { json.string(encoding) } else { json.null() }
            json.endObject()
        } else {
            json.null()
        }

        json.key("timing"); json.beginObject()
        if let firstToken = exchange.firstTokenAt, firstToken > exchange.startedMonotonic {
            exchange.figures.firstTokenNs = firstToken - exchange.startedMonotonic
        }
        let figures = exchange.figures
        metrics?.recorded(usage: usage, firstTokenNanos: figures.firstTokenNs,
                          endedMonotonic: figures.totalNs > 0 ? exchange.startedMonotonic + figures.totalNs : 0,
                          now: Self.monotonicNanos())
        for (key, ns) in [("upstream_connect_ms", figures.connectNs), ("upstream_tls_ms", figures.tlsNs), ("ttfb_ms", figures.headNs),
                          ("first_token_ms", figures.firstTokenNs), ("total_ms", figures.totalNs)] {
            json.key(key)
            if ns > 0 { json.double(Double(ns) / 1e6) } else { json.null() }
        }
        json.key("upstream_tls_resumed")
        if figures.tlsNs > 0 { json.bool(figures.tlsResumed) } else { json.null() }
        json.endObject()

        json.key("outcome"); json.string(exchange.outcome)
        json.key("error")
        if let error = exchange.error { json.string(error) } else { json.null() }
        if let usage, usage != Usage() {
            json.key("usage"); json.beginObject()
            json.key("model"); optional(usage.model, &json)
            json.key("input_tokens"); optional(usage.inputTokens, &json)
            json.key("output_tokens"); optional(usage.outputTokens, &json)
            json.key("cache_read_input_tokens"); optional(usage.cacheReadInputTokens, &json)
            json.key("cache_creation_input_tokens"); optional(usage.cacheCreationInputTokens, &json)
            json.key("stop_reason"); optional(usage.stopReason, &json)
            json.endObject()
        }
        if let sse = exchange.sse {
            json.key("sse"); json.beginObject()
            json.key("events"); json.int(sse.events)
            json.key("text"); json.string(text ?? "")
            json.endObject()
        }
        json.endObject()
        var line = json.bytes
        line.append(0x0a)
        return line
    }

    /// Headers as an object; secrets replaced by their fingerprint, repeated names joined with ", ".
    private func headers(_ pairs: [(String, String)], into json: inout JSONWriter) {
        var merged: [(name: String, value: String)] = []
        merged.reserveCapacity(pairs.count)
        for (name, value) in pairs {
            let lower = name.lowercased()
            let shown = Fingerprint.isSecret(headerName: lower) ? fingerprint.of(Array(value.utf8)) : value
            if let index = merged.firstIndex(where: { $0.name == lower }) {
                merged[index].value += ", " + shown
            } else {
                merged.append((lower, shown))
            }
        }
        json.beginObject()
        for field in merged {
            json.key(field.name)
            json.string(field.value)
        }
        json.endObject()
    }

    private func optional(_ value: String?, _ json: inout JSONWriter) {
        if let value { json.string(value) } else { json.null() }
    }

    private func optional(_ value: Int?, _ json: inout JSONWriter) {
        if let value { json.int(value) } else { json.null() }
    }
}

extension ExchangeRecord {
    func appendRequest(_ bytes: UnsafeRawBufferPointer, cap: Int) {
        requestBytes += bytes.count
        let room = max(0, cap - requestBody.count)
        if bytes.count > room { requestTruncated = true }
        requestBody.append(contentsOf: bytes.prefix(room))
    }

    func appendResponse(_ bytes: UnsafeRawBufferPointer, at readAt: UInt64, cap: Int) {
        responseBytes += bytes.count
        guard let inflater else {
            takeDecoded(bytes, at: readAt, cap: cap)
            return
        }
        // A corrupt compressed stream: keep what was decoded before it.
        guard !inflateFailed else { return }
        var decoded: [UInt8] = []
        if !inflater.inflate(bytes, into: &decoded) { inflateFailed = true }
        decoded.withUnsafeBytes { takeDecoded($0, at: readAt, cap: cap) }
    }

    /// The analyser sees the whole stream (usage comes at its end); the stored copy stops at the cap.
    private func takeDecoded(_ decoded: UnsafeRawBufferPointer, at readAt: UInt64, cap: Int) {
        sse?.feed(decoded)
        // First token: the first fragment that added answer text (a stream), or the first body byte.
        if firstTokenAt == nil && (sse == nil ? decoded.count > 0 : sse?.hasText == true) { firstTokenAt = readAt }
        let room = max(0, cap - responseBody.count)
        if decoded.count > room { responseTruncated = true }
        responseBody.append(contentsOf: UnsafeRawBufferPointer(rebasing: decoded.prefix(room)))
    }

    func end(_ payload: UnsafeRawBufferPointer) {
        for line in PayloadText.lines(payload) {
            guard let (key, value) = PayloadText.pair(line, UInt8(ascii: "=")) else { continue }
            let number = PayloadText.number(value)
            switch PayloadText.text(key) {
            case "outcome": outcome = PayloadText.text(value)
            case "error": error = PayloadText.text(value)
            case "connect_ns": figures.connectNs = number ?? 0
            case "tls_ns": figures.tlsNs = number ?? 0
            case "tls_resumed": figures.tlsResumed = number == 1
            case "head_ns": figures.headNs = number ?? 0
            case "first_byte_ns": figures.firstByteNs = number ?? 0
            case "total_ns": figures.totalNs = number ?? 0
            case "request_bytes": figures.requestBytes = number
            case "response_bytes": figures.responseBytes = number
            case "dropped_bytes":
                figures.droppedBytes = number ?? 0
                responseTruncated = true
            default: break
            }
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

enum RFC3339 {
    /// `2026-11-25T12:34:56.123456Z` from microseconds since the epoch.
    static func micros(_ value: UInt64) -> String {
        var seconds = time_t(value / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let micros = String(value % 1_000_000).leftPadded(to: 6)
        func two(_ n: Int32) -> String { String(n).leftPadded(to: 2) }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(micros)Z"
    }
}

/// A body record's payload: the 8-byte monotonic time the fragment was read, then the bytes.
struct BodyRecord {
    let readAt: UInt64
    let bytes: UnsafeRawBufferPointer
    init(_ payload: UnsafeRawBufferPointer) {
        guard payload.count >= 8 else { readAt = 0; bytes = payload; return }
        readAt = payload.loadUnaligned(as: UInt64.self)
        bytes = UnsafeRawBufferPointer(rebasing: payload[8...])
    }
}
