// Turns the ring's records (start, heads, body fragments, end) into one finished JSON line per exchange:
// inflates compressed answers, follows SSE streams for usage and text, and redacts secrets. Logger thread only.
import Foundation
import LogRing
import Metrics

final class RecordAssembler {
    private var open: [UInt64: ExchangeRecord] = [:]
    let bodyMax: Int
    let fingerprint: Fingerprint
    /// Distinguishes ids minted by different kgb processes writing to one store.
    let instance: UInt16
    private var sequence: UInt32 = 0
    let metrics: LoggerMetrics?

    /// The headers that name an agent's session, first present wins (lower case).
    let sessionHeaders: [String]
    /// With `--agents`: their names by index, and where their tokens and dollars are counted for their limits.
    var agentNames: [String] = []
    var agentUsage: AgentUsage?
    let prices: PriceTable

    init(bodyMax: Int, fingerprint: Fingerprint, instance: UInt16, metrics: LoggerMetrics? = nil,
         sessionHeaders: [String] = LoggerOptions.defaultSessionHeaders, prices: PriceTable = PriceTable()) {
        self.sessionHeaders = sessionHeaders
        self.prices = prices
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
        case .requestBody:
            open[record.exchange]?.appendRequest(LogPayload.Body(record.payload).bytes, cap: bodyMax)
        case .responseHead: responseHead(record)
        case .responseBody:
            let body = LogPayload.Body(record.payload)
            open[record.exchange]?.appendResponse(body.bytes, at: body.readAt, cap: bodyMax)
        case .end:
            guard let exchange = open.removeValue(forKey: record.exchange) else { return nil }
            exchange.end(LogPayload.End(record.payload))
            return encode(exchange)
        }
        return nil
    }

    private func start(_ record: LogRecord) {
        guard let start = LogPayload.Start(record.payload) else { return }
        let exchange = ExchangeRecord(exchange: record.exchange)
        exchange.startedWallMicros = start.wallMicros
        exchange.startedMonotonic = start.monotonicNanos
        exchange.client = start.client
        exchange.upstream = start.upstream
        exchange.method = start.method
        exchange.path = start.target
        exchange.version = start.version
        exchange.requestHeaders = start.fields.map { ($0.name, $0.value) }
        open[record.exchange] = exchange
    }

    private func responseHead(_ record: LogRecord) {
        guard let exchange = open[record.exchange] else { return }
        let head = LogPayload.ResponseHead(record.payload)
        exchange.status = head.status
        exchange.responseHeaders = head.fields.map { ($0.name, $0.value) }
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
        if usage?.isEmpty == true { usage = nil }
        let cost = usage.flatMap { prices.cost(of: $0) }
        var json = JSONWriter()
        json.beginObject()
        json.key("id"); json.string(nextID(exchange.startedWallMicros))
        json.key("started_at"); json.string(RFC3339.micros(exchange.startedWallMicros))
        json.key("client"); json.string(exchange.client)
        json.key("method"); optional(exchange.method.isEmpty ? nil : exchange.method, &json)  // null: never parsed
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
        // kgb's own answer to a request it refused carries no token.
        if let firstToken = exchange.firstTokenAt, firstToken > exchange.startedMonotonic, exchange.outcome != "rejected" {
            exchange.figures.firstTokenNs = firstToken - exchange.startedMonotonic
        }
        let figures = exchange.figures
        metrics?.recorded(usage: usage, costUSD: cost, firstTokenNanos: figures.firstTokenNs,
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

        json.key("agent"); agent(exchange, into: &json)
        json.key("attempts"); attempts(exchange, into: &json)
        if let index = exchange.agentIndex, let usage { charge(index, usage, cost: cost) }
        json.key("outcome"); json.string(exchange.outcome)
        json.key("error")
        if let error = exchange.error { json.string(error) } else { json.null() }
        if let usage {
            json.key("usage"); json.beginObject()
            json.key("model"); optional(usage.model, &json)
            json.key("input_tokens"); optional(usage.inputTokens, &json)
            json.key("output_tokens"); optional(usage.outputTokens, &json)
            json.key("cache_read_input_tokens"); optional(usage.cacheReadInputTokens, &json)
            json.key("cache_creation_input_tokens"); optional(usage.cacheCreationInputTokens, &json)
            json.key("stop_reason"); optional(usage.stopReason, &json)
            json.endObject()
        }
        // Present in every record, so a store can sum it without asking whether the key exists.
        json.key("cost_usd")
        if let cost { json.double(cost) } else { json.null() }
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

    private func agent(_ exchange: ExchangeRecord, into json: inout JSONWriter) {
        var agent = AgentIdentity(headers: exchange.requestHeaders, sessionHeaders: sessionHeaders, fingerprint: fingerprint)
        if let index = exchange.agentIndex, index >= 0, index < agentNames.count { agent.name = agentNames[index] }
        json.beginObject()
        json.key("name"); optional(agent.name, &json)
        json.key("key"); optional(agent.key, &json)
        json.key("session"); optional(agent.session, &json)
        json.key("user_agent"); optional(agent.userAgent, &json)
        json.endObject()
    }

    /// Every upstream tried, in order; the last is the one whose answer the client got. None for a request that was
    /// never routed.
    private func attempts(_ exchange: ExchangeRecord, into json: inout JSONWriter) {
        json.beginArray()
        if !exchange.upstream.isEmpty {
            var earlier: UInt64 = 0
            for attempt in exchange.failedAttempts {
                earlier += attempt.nanos
                self.attempt(upstream: attempt.upstream, status: attempt.status, error: attempt.error, nanos: attempt.nanos, into: &json)
            }
            let total = exchange.figures.totalNs
            attempt(upstream: exchange.upstream, status: exchange.status,
                    error: exchange.outcome == "complete" || exchange.outcome == "client_aborted" ? nil : exchange.error,
                    nanos: total > earlier ? total - earlier : 0, into: &json)
        }
        json.endArray()
    }

    private func attempt(upstream: String, status: Int?, error: String?, nanos: UInt64, into json: inout JSONWriter) {
        json.beginObject()
        json.key("upstream"); json.string(upstream)
        json.key("status"); optional(status, &json)
        json.key("error"); optional(error, &json)
        json.key("ms"); json.double(Double(nanos) / 1e6)
        json.endObject()
    }

    /// Tokens and dollars of an agent's exchange count towards its limits.
    private func charge(_ agent: Int, _ usage: Usage, cost: Double?) {
        guard let agentUsage else { return }
        // Every token the answer counted, each once (OpenAI's cached tokens are already among its input tokens).
        let tokens = max(0, usage.inputTokens ?? 0) + max(0, usage.outputTokens ?? 0) + max(0, usage.cacheCreationInputTokens ?? 0)
            + (usage.inputIncludesCacheRead ? 0 : max(0, usage.cacheReadInputTokens ?? 0))
        let microUSD = cost.map { UInt64(max(0, ($0 * 1_000_000).rounded(.up))) } ?? 0
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        agentUsage.charge(agent, tokens: tokens, microUSD: microUSD, now: Self.monotonicNanos(), utcDay: UInt64(wall.tv_sec) / 86_400)
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

    func end(_ end: LogPayload.End) {
        outcome = end.outcome
        error = end.error
        agentIndex = end[.agent].map { Int($0) }
        if let upstream = end.upstream { self.upstream = upstream }
        failedAttempts = end.attempts
        figures.connectNs = end[.connectNanos] ?? 0
        figures.tlsNs = end[.tlsNanos] ?? 0
        figures.tlsResumed = end[.tlsResumed] == 1
        figures.headNs = end[.headNanos] ?? 0
        figures.firstByteNs = end[.firstByteNanos] ?? 0
        figures.totalNs = end[.totalNanos] ?? 0
        figures.requestBytes = end[.requestBytes]
        figures.responseBytes = end[.responseBytes]
        if let dropped = end[.droppedBytes] {
            figures.droppedBytes = dropped
            responseTruncated = true
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

    /// The reverse of `micros`, for readers of records (the OTLP span's start): nanoseconds since the epoch from
    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. Nil for anything else and for times before 1970 (or after 2554). Pure
    /// arithmetic, not timegm: no libc time zone state on a sink thread.
    static func nanos(parsing text: String) -> UInt64? {
        let b = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count else { return nil }
            var value = 0
            for i in range {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) else { return nil }
                value = value * 10 + Int(b[i] - UInt8(ascii: "0"))
            }
            return value
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var i = 19
        var fraction: UInt64 = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) {
                // Digits past the ninth are below a nanosecond.
                if digits < 9 { fraction = fraction * 10 + UInt64(b[i] - UInt8(ascii: "0")) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { fraction *= 10 }
        }
        var offsetSeconds = 0
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            guard i + 1 == b.count else { return nil }
        } else {
            guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"),
                  let hours = number((i + 1)..<(i + 3)), let minutes = number((i + 4)..<(i + 6)) else { return nil }
            offsetSeconds = (hours * 3600 + minutes * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        }
        // Days from 1970-01-01 to the civil date (the proleptic Gregorian calendar, in 400-year eras of 146097 days).
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146097 + dayOfEra - 719468
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds
        // UInt64 nanoseconds end in 2554.
        guard seconds >= 0, UInt64(seconds) < UInt64.max / 1_000_000_000 else { return nil }
        return UInt64(seconds) * 1_000_000_000 + fraction
    }
}

/// A body record's payload: the 8-byte monotonic time the fragment was read, then the bytes.
