// Turns the ring's records (start, heads, body fragments, end) into one finished JSON line per exchange:
// inflates compressed answers, follows SSE streams for usage and text, and redacts secrets. Logger thread only.
//
// Written for a logger that costs little per exchange: heads stay the ring's bytes (copied once) and are written
// straight into the output with their positions; the line is built in one reused buffer with no String per value;
// exchange objects and their buffers are reused. The bytes of the line are the record contract's (README "The
// exchange log"); GoldenRecordTests holds them.
import Glibc
import LogRing
import Metrics

final class RecordAssembler {
    private var open = IDTable<ExchangeRecord>()
    /// The exchange the last record was for (consecutive records are mostly of one exchange: a stream's fragments).
    /// Unmanaged: `open` holds it for as long as it is here (it is cleared when the exchange leaves `open`), so finding
    /// it again costs no reference counting.
    private var recent: Unmanaged<ExchangeRecord>?
    /// Finished exchange objects kept for reuse (bounded: past it they are freed).
    private var spare: [ExchangeRecord] = []
    static let spareLimit = 64
    let bodyMax: Int
    let fingerprint: Fingerprint
    /// Distinguishes ids minted by different kgb processes writing to one store.
    let instance: UInt16
    private var sequence: UInt32 = 0
    let metrics: LoggerMetrics?

    /// The headers that name an agent's session, first present wins (lower case).
    let sessionHeaders: [String]
    private let sessionHeaderBytes: [AgentFields.SessionHeader]
    /// With `--agents`: their names by index, and where their tokens and dollars are counted for their limits.
    var agentNames: [String] = []
    var agentUsage: AgentUsage?
    let prices: PriceTable
    /// Fingerprints of the last few secrets seen (one HMAC costs more than the rest of a small record; an agent sends
    /// the same key on every request). Logger thread only, like every secret the logger reads.
    private var fingerprints = FingerprintCache()
    /// Tokens of records not yet published to `metrics` (see `publishTokens`), when the logger publishes per batch.
    private var tokenTally = TokenTally()
    var publishesPerBatch = false

    /// Publishes the tokens of the records assembled since the last call (the logger calls it before handing a batch
    /// to the sinks, so a record in a sink always has its tokens in /metrics).
    func publishTokens() {
        metrics?.publish(&tokenTally)
        // One clock read per batch for the lag gauge, for the latest exchange in it (a read per record was ~1% of
        // the logger's time per small exchange).
        if latestEnded > 0 {
            metrics?.noteLag(endedMonotonic: latestEnded, now: Self.monotonicNanos())
            latestEnded = 0
        }
    }

    /// When the latest exchange assembled since the last `publishTokens` ended (0: none).
    private var latestEnded: UInt64 = 0

    /// Where `apply(_:)` writes a line when no buffer is given.
    private let lineBuffer = OutputBuffer(capacity: 16 * 1024)
    /// Where long bodies spill (nil: every body in memory, as unit tests without a directory want).
    let bodyFiles: BodyFiles?
    /// A spilled body read back for the line or for the usage (let go after each record), and whose it is.
    private var bodyScratch: [UInt8] = []
    private var scratchHolds: String?
    /// A JSON answer longer than this (kept in a file) is not read for its usage.
    static let usageReadMax = 4 << 20

    init(bodyMax: Int, fingerprint: Fingerprint, instance: UInt16, metrics: LoggerMetrics? = nil,
         sessionHeaders: [String] = LoggerOptions.defaultSessionHeaders, prices: PriceTable = PriceTable(),
         bodyFiles: BodyFiles? = nil) {
        self.bodyFiles = bodyFiles
        self.sessionHeaders = sessionHeaders
        sessionHeaderBytes = sessionHeaders.map { AgentFields.SessionHeader($0) }
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
        lineBuffer.reset()
        return apply(record, into: lineBuffer) ? lineBuffer.array() : nil
    }

    /// Applies one ring record; when it ends an exchange, appends the finished JSON line (with "\n") to `out` and
    /// answers true.
    func apply(_ record: LogRecord, into out: OutputBuffer) -> Bool {
        switch record.kind {
        case .padding: return false
        case .start: start(record)
        case .requestBody:
            withExchange(record.exchange) { $0.appendRequest(LogPayload.Body(record.payload).bytes, cap: bodyMax, files: bodyFiles) }
        case .responseHead:
            withExchange(record.exchange) { responseHead(record.payload, $0) }
        case .responseBody:
            let body = LogPayload.Body(record.payload)
            withExchange(record.exchange) { $0.appendResponse(body.bytes, at: body.readAt, cap: bodyMax, files: bodyFiles) }
        case .end:
            guard let exchange = open.remove(record.exchange) else { return false }
            if recent?.toOpaque() == Unmanaged.passUnretained(exchange).toOpaque() { recent = nil }
            let end = EndEntries(record.payload)
            encode(exchange, end, into: out)
            recycle(exchange)
            return true
        }
        return false
    }

    /// Runs `body` with the open exchange `id`, if there is one.
    @inline(__always)
    private func withExchange(_ id: UInt64, _ body: (ExchangeRecord) -> Void) {
        if let recent, recent._withUnsafeGuaranteedRef({ $0.exchange == id }) {
            recent._withUnsafeGuaranteedRef(body)
            return
        }
        guard let found = open[id] else { return }
        recent = Unmanaged.passUnretained(found)
        body(found)
    }

    // MARK: Exchanges that stay open

    /// Exchanges open for `parkAfter` nanoseconds or more give their bytes to the spool, and again each round after
    /// (what their bodies gained since): held streams then cost the logger a few hundred bytes each, whatever their
    /// length. Exchanges that end sooner (nearly all) never touch it. The logger calls this after each batch; it
    /// does its work once per `parkAfter`.
    func parkLongOpen(now: UInt64) {
        guard let bodyFiles, now >= nextParkRound else { return }
        nextParkRound = now &+ parkAfter
        parkedExchanges = 0
        open.forEach { exchange in
            if now &- exchange.startedMonotonic >= parkAfter { exchange.park(bodyFiles) }
            if exchange.isParked { parkedExchanges += 1 }
        }
        bodyFiles.flushSpool()
        publishParked()
    }

    /// Open exchanges with bytes in the spool (recounted each round).
    private var parkedExchanges = 0

    private func publishParked() {
        guard let metrics, let bodyFiles else { return }
        metrics.parkedExchanges.store(UInt64(max(0, parkedExchanges)), ordering: .relaxed)
        metrics.parkedBytes.store(UInt64(max(0, bodyFiles.parkedBytes)), ordering: .relaxed)
    }

    /// 1 s: an exchange open that long is a stream or a slow answer; parking it costs a copy and, at its record, a read.
    var parkAfter: UInt64 = 1_000_000_000
    private var nextParkRound: UInt64 = 0

    private func recycle(_ exchange: ExchangeRecord) {
        exchange.inflater = nil
        // Spill files not taken by the record go now (reset removes them), not when the object is reused.
        exchange.requestBody.reset(bodyFiles, keep: ExchangeRecord.keptCapacity)
        exchange.responseBody.reset(bodyFiles, keep: ExchangeRecord.keptCapacity)
        if bodyScratch.capacity > ExchangeRecord.keptCapacity { bodyScratch = [] }
        scratchHolds = nil
        if spare.count < Self.spareLimit { spare.append(exchange) }
    }

    // MARK: Heads

    private func start(_ record: LogRecord) {
        let payload = record.payload
        // The clocks (see LogPayload), then three lines at least: client, upstream, request line; then fields.
        guard payload.count >= LogPayload.clocksByteCount else { return }
        var lines = LineCursor(payload)
        lines.at = LogPayload.clocksByteCount
        guard let client = lines.next(), let upstream = lines.next(), let requestLine = lines.next() else { return }
        let exchange = spare.popLast() ?? ExchangeRecord()
        exchange.reset(exchange: record.exchange, files: bodyFiles)
        exchange.start.set(payload)
        exchange.startedWallMicros = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        exchange.startedMonotonic = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        exchange.client = client
        exchange.upstream = upstream
        // The target has no spaces (the parser refuses them): METHOD, TARGET, the rest.
        if let space = LineCursor.find(payload, UInt8(ascii: " "), in: requestLine),
           let second = LineCursor.find(payload, UInt8(ascii: " "), in: (space + 1)..<requestLine.upperBound) {
            exchange.method = requestLine.lowerBound..<space
            exchange.target = (space + 1)..<second
        }
        open.insert(exchange, for: record.exchange)
        recent = Unmanaged.passUnretained(exchange)
    }

    private func responseHead(_ payload: UnsafeRawBufferPointer, _ exchange: ExchangeRecord) {
        exchange.dropParkedHead(bodyFiles)
        exchange.head.set(payload)
        exchange.status = nil
        var lines = LineCursor(payload)
        if let statusLine = lines.next() {
            let code = LineCursor.find(payload, UInt8(ascii: " "), in: statusLine).map { statusLine.lowerBound..<$0 } ?? statusLine
            exchange.status = LogPayload.number(UnsafeRawBufferPointer(rebasing: payload[code])).map { Int($0) }
        }
        // Moved out and back (not copied: a copy retains the fields' storage, and this runs once a record).
        var fields = exchange.responseFields.take() ?? HeadFields()
        fields.read(payload, at: 0, skipping: 1)
        for index in 0..<fields.count {
            let field = fields[index]
            if field.role == .contentEncoding {
                exchange.contentEncoding = field.value
                let value = String(decoding: UnsafeRawBufferPointer(rebasing: payload[field.value]), as: UTF8.self)
                exchange.inflater = Inflater(contentEncoding: value.lowercased())
            } else if field.role == .contentType {
                let value = UnsafeRawBufferPointer(rebasing: payload[field.value])
                if value.allSatisfy({ $0 < 0x80 }) {
                    exchange.isEventStream = ASCII.hasPrefixIgnoringCase(value, "text/event-stream")
                    exchange.isJSON = ASCII.containsIgnoringCase(value, "json")
                } else {
                    // Beyond ASCII, as a String would read it.
                    let type = String(decoding: value, as: UTF8.self).lowercased()
                    exchange.isEventStream = type.hasPrefix("text/event-stream")
                    exchange.isJSON = type.contains("json")
                }
            }
        }
        exchange.responseFields = consume fields
        if exchange.isEventStream {
            if exchange.isStream { exchange.sse.reset() }
            exchange.isStream = true
        }
    }

    // MARK: The line

    /// The request fields of the record being written, read from its start payload when the record is written (an
    /// open exchange keeps the payload only). The response's are read when its head comes (its type and encoding
    /// decide how the body is read) and kept until the record, or until the exchange is parked.
    private var requestFields = HeadFields()
    /// The end record's figures of the record being written.
    private var figures = EndFigures()

    /// What the exchange's answer reported, into `usage` (left empty when it reported nothing): from its SSE events,
    /// or its JSON body (read back when spilled). Returns what it cost by the price table. Filled in place, not
    /// returned or unwrapped: each copy of a Usage retains its strings (a model name past 15 bytes is on the heap).
    private func readUsage(of exchange: ExchangeRecord, into usage: inout Usage) -> Double? {
        if exchange.isStream {
            usage = exchange.sse.usage
        } else {
            guard exchange.isJSON, !exchange.responseTruncated, exchange.responseBody.count > 0 else { return nil }
            if !exchange.responseBody.isSpilled {
                JSONBodyUsage.read(exchange.responseBody.memory, knownModel: lastPrice?.model, into: &usage)
            } else if exchange.responseBody.count <= Self.usageReadMax, let bodyFiles, let path = exchange.responseBody.spillPath,
                      bodyFiles.read(path, into: &bodyScratch, count: exchange.responseBody.count) {
                scratchHolds = "response"
                JSONBodyUsage.read(bodyScratch, knownModel: lastPrice?.model, into: &usage)
            } else {
                return nil
            }
        }
        // The price found first (a method passed as the closure would capture this assembler: a retain per record).
        guard usage.reportsTokens, let price = usage.model.flatMap({ price(for: $0) }) else { return nil }
        return prices.cost(of: usage, at: price)
    }

    private func encode(_ exchange: ExchangeRecord, _ end: EndEntries, into out: OutputBuffer) {
        if exchange.isParked {
            exchange.unpark(bodyFiles)
            parkedExchanges -= 1
            publishParked()
        }
        figures = exchange.apply(end)
        if exchange.isStream { exchange.sse.finish() }
        if let bodyFiles {
            exchange.requestBody.finishSpill(bodyFiles)
            exchange.responseBody.finishSpill(bodyFiles)
        }
        var filled = Usage()
        let cost = readUsage(of: exchange, into: &filled)
        // A let from here (read in place by the closure below, not copied into it).
        let usage = consume filled
        let reported = !usage.isEmpty
        // The request's fields are read into storage kept from record to record, swapped out for this one and back
        // (read from a property of this class, they would be retained and released at each use).
        var requestFields = HeadFields()
        swap(&requestFields, &self.requestFields)
        exchange.start.withUnsafeBytes { start in
            requestFields.read(start, at: LogPayload.clocksByteCount, skipping: 3)  // client, upstream, request line
            out.raw(#"{"id":""#)
            let idStart = out.count
            nextID(exchange.startedWallMicros, into: out)
            let id = idStart..<out.count
            out.raw(#"","started_at":""#)
            out.rfc3339(micros: exchange.startedWallMicros)
            out.raw(#"","client":"#)
            out.text(UnsafeRawBufferPointer(rebasing: start[exchange.client]))
            out.raw(#","method":"#)
            if exchange.method.isEmpty { out.raw("null") } else { out.text(UnsafeRawBufferPointer(rebasing: start[exchange.method])) }  // null: never parsed
            out.raw(#","path":"#)
            out.text(UnsafeRawBufferPointer(rebasing: start[exchange.target]))
            out.raw(#","upstream":"#)
            end.upstream(in: start, default: exchange.upstream) { out.text($0) }

            out.raw(#","request":{"headers":"#)
            headers(start, requestFields, into: out)
            bodyMembers(&exchange.requestBody, side: "request", id: id,
                        wireBytes: figures.requestBytes.map { Int($0) } ?? exchange.requestBytes, dropped: false, into: out)
            out.raw(#"},"response":"#)
            if let status = exchange.status {
                exchange.head.withUnsafeBytes { head in
                    // Moved out and back, as in `responseHead`. None: parked since, read again.
                    let parkedSince = exchange.responseFields == nil
                    var fields = exchange.responseFields.take() ?? HeadFields()
                    if parkedSince { fields.read(head, at: 0, skipping: 1) }  // after the status line
                    out.raw(#"{"status":"#)
                    out.decimal(status)
                    out.raw(#","headers":"#)
                    headers(head, fields, into: out)
                    exchange.responseFields = consume fields
                    bodyMembers(&exchange.responseBody, side: "response", id: id,
                                wireBytes: figures.responseBytes.map { Int($0) } ?? exchange.responseBytes,
                                dropped: exchange.responseDropped, into: out)
                    out.raw(#","content_encoding":"#)
                    if let encoding = exchange.contentEncoding {
                        out.text(UnsafeRawBufferPointer(rebasing: head[encoding]))
                    } else {
                        out.raw("null")
                    }
                    out.byte(UInt8(ascii: "}"))
                }
            } else {
                out.raw("null")
            }

            // kgb's own answer to a request it refused carries no token.
            if let firstToken = exchange.firstTokenAt, firstToken > exchange.startedMonotonic, !end.outcomeIs("rejected") {
                figures.firstTokenNs = firstToken - exchange.startedMonotonic
            }
            metrics?.recorded(usage: usage, costUSD: cost, firstTokenNanos: figures.firstTokenNs, tally: &tokenTally,
                              publishNow: !publishesPerBatch)
            let ended = figures.totalNs > 0 ? exchange.startedMonotonic + figures.totalNs : 0
            if publishesPerBatch {
                latestEnded = max(latestEnded, ended)
            } else {
                metrics?.noteLag(endedMonotonic: ended, now: Self.monotonicNanos())
            }
            out.raw(#","timing":{"upstream_connect_ms":"#)
            milliseconds(figures.connectNs, into: out)
            out.raw(#","upstream_tls_ms":"#)
            milliseconds(figures.tlsNs, into: out)
            out.raw(#","ttfb_ms":"#)
            milliseconds(figures.headNs, into: out)
            out.raw(#","first_token_ms":"#)
            milliseconds(figures.firstTokenNs, into: out)
            out.raw(#","total_ms":"#)
            milliseconds(figures.totalNs, into: out)
            out.raw(#","upstream_tls_resumed":"#)
            if figures.tlsNs > 0 { out.bool(figures.tlsResumed) } else { out.raw("null") }

            out.raw(#"},"agent":"#)
            agent(start, exchange, end, requestFields, into: out)
            out.raw(#","attempts":"#)
            attempts(start, exchange, end, into: out)
            if let index = end.agent, reported { charge(index, usage, cost: cost) }
            out.raw(#","outcome":"#)
            end.outcome { out.text($0) }
            out.raw(#","error":"#)
            if !end.error({ out.text($0) }) { out.raw("null") }
        }
        swap(&requestFields, &self.requestFields)
        if reported {
            out.raw(#","usage":{"model":"#)
            if let model = usage.model { out.text(model) } else { out.raw("null") }
            out.raw(#","input_tokens":"#)
            Self.optional(usage.inputTokens, out)
            out.raw(#","output_tokens":"#)
            Self.optional(usage.outputTokens, out)
            out.raw(#","cache_read_input_tokens":"#)
            Self.optional(usage.cacheReadInputTokens, out)
            out.raw(#","cache_creation_input_tokens":"#)
            Self.optional(usage.cacheCreationInputTokens, out)
            out.raw(#","stop_reason":"#)
            if let reason = usage.stopReason { out.text(reason) } else { out.raw("null") }
            out.byte(UInt8(ascii: "}"))
        }
        // Present in every record, so a store can sum it without asking whether the key exists.
        out.raw(#","cost_usd":"#)
        if let cost { out.billionths(cost) } else { out.raw("null") }
        if exchange.isStream {
            out.raw(#","sse":{"events":"#)
            out.decimal(exchange.sse.events)
            out.raw(#","text":"#)
            exchange.sse.textBytes.withUnsafeBytes { out.text($0) }
            out.byte(UInt8(ascii: "}"))
        }
        out.raw("}\n")
    }

    /// The price table's answer for a model, remembered (a lookup tries every key as a prefix). Bounded: models are
    /// whatever upstreams answer, so past the limit it starts again.
    private func price(for model: String) -> ModelPrice? {
        // Consecutive records nearly always name the same model: comparing it with the last one is cheaper than
        // hashing it (~0.5 k instructions for a name past 15 bytes).
        if let last = lastPrice, last.model == model { return last.price }
        let price: ModelPrice?
        if let known = priceCache[model] {
            price = known
        } else {
            if priceCache.count >= 256 { priceCache.removeAll() }
            price = prices.price(for: model)
            priceCache[model] = .some(price)
        }
        lastPrice = (model, price)
        return price
    }

    private var priceCache: [String: ModelPrice?] = [:]
    private var lastPrice: (model: String, price: ModelPrice?)?

    /// One side's `,"body":…,"body_bytes":N,"truncated":B`. Byte counts are the gateway's (what crossed the wire), not
    /// what the log managed to keep; `truncated` is read after the body is written (writing it finishes a spill).
    private func bodyMembers(_ kept: inout KeptBody, side: String, id: Range<Int>, wireBytes: Int, dropped: Bool,
                             into out: OutputBuffer) {
        out.raw(#","body":"#)
        body(&kept, side: side, id: id, into: out)
        out.raw(#","body_bytes":"#)
        out.decimal(wireBytes)
        out.raw(#","truncated":"#)
        out.bool(kept.truncated || dropped)
    }

    /// A body's JSON value: inline (a string, or base64) when it is in memory or short enough to read back, else the
    /// reference to its file, renamed from the spill file to `<record id>.<side>` in the body directory.
    private func body(_ body: inout KeptBody, side: String, id: Range<Int>, into out: OutputBuffer) {
        guard let bodyFiles, let spill = body.spillPath else {
            body.memory.withUnsafeBytes { out.body($0) }
            return
        }
        if body.count <= bodyFiles.inlineMax,
           scratchHolds == side || bodyFiles.read(spill, into: &bodyScratch, count: body.count) {
            scratchHolds = side
            bodyScratch.withUnsafeBytes { out.body($0) }
            return  // the spill file is removed with the exchange
        }
        let name = String(decoding: UnsafeRawBufferPointer(start: out.base + id.lowerBound, count: id.count), as: UTF8.self)
        let path = "\(bodyFiles.directory)/\(name).\(side)"
        guard bodyFiles.rename(spill, to: path) else {
            out.raw(#""""#)  // lost with its file; the failure was reported
            return
        }
        body.forgetSpill()
        out.raw(#"{"file":"#)
        out.text(path)
        out.raw(#","bytes":"#)
        out.decimal(body.count)
        out.byte(UInt8(ascii: "}"))
    }

    /// Time first (sortable as text), then the process, then a counter: unique across instances.
    private func nextID(_ startedMicros: UInt64, into out: OutputBuffer) {
        sequence &+= 1
        out.hex(startedMicros, width: 14)
        out.hex(UInt64(instance), width: 4)
        out.hex(UInt64(sequence), width: 8)
    }

    private func milliseconds(_ nanos: UInt64, into out: OutputBuffer) {
        if nanos > 0 { out.milliseconds(nanos: nanos) } else { out.raw("null") }
    }

    /// Headers as an object with lower-case names (field names are tokens, so ASCII: the parser refuses anything
    /// else); secrets replaced by their fingerprint; a repeated name once, its values joined with ", " in order.
    private func headers(_ head: UnsafeRawBufferPointer, _ fields: HeadFields, into out: OutputBuffer) {
        out.byte(UInt8(ascii: "{"))
        // Most heads repeat no name (`HeadFields` knows): each field is a member as it comes.
        guard fields.hasRepeats else {
            for index in 0..<fields.count {
                if index > 0 { out.byte(UInt8(ascii: ",")) }
                member(head, fields[index], into: out)
                out.byte(UInt8(ascii: "\""))
            }
            out.byte(UInt8(ascii: "}"))
            return
        }
        // Fields sharing a name (any case) become one member, their values joined in order: one pass over the pairs
        // marks each field that repeats an earlier one, and each that a later one repeats.
        while repeats.count < fields.count { repeats.append(.single) }
        for index in 0..<fields.count { repeats[index] = .single }
        for index in 0..<fields.count {
            for earlier in 0..<index where fields.sameName(earlier, index, in: head) {
                repeats[index] = .later
                if repeats[earlier] == .single { repeats[earlier] = .repeated }
                break
            }
        }
        var first = true
        for index in 0..<fields.count where repeats[index] != .later {
            if !first { out.byte(UInt8(ascii: ",")) }
            first = false
            let field = fields[index]
            member(head, field, into: out)
            if repeats[index] == .repeated {
                for later in (index + 1)..<fields.count where fields.sameName(index, later, in: head) {
                    out.raw(", ")
                    value(head, fields[later].value, secret: field.role.isSecret, into: out)
                }
            }
            out.byte(UInt8(ascii: "\""))
        }
        out.byte(UInt8(ascii: "}"))
    }

    /// `"name":"value` of one field (the closing quote is the caller's: a repeated name's later values come first).
    @inline(__always)
    private func member(_ head: UnsafeRawBufferPointer, _ field: HeadFields.Field, into out: OutputBuffer) {
        name(head, field, into: out)
        out.raw(#":""#)
        value(head, field.value, secret: field.role.isSecret, into: out)
    }

    /// Per field of the head being written: whether its name comes again later, or came before.
    private enum Repeat { case single, repeated, later }
    private var repeats: [Repeat] = []

    @inline(__always)
    private func name(_ head: UnsafeRawBufferPointer, _ field: HeadFields.Field, into out: OutputBuffer) {
        // Up to eight bytes (most names): the lower-cased word the fields were compared by, written whole.
        if out.quotedWord(field.prefix, count: field.name.count) { return }
        let mark = out.count
        out.text(UnsafeRawBufferPointer(rebasing: head[field.name]))
        // Lower-case what was written (ASCII letters only; an escape's letters are never upper case), eight bytes at
        // a time: 0x20 is added to each byte in A...Z.
        var at = mark
        while at &+ 8 <= out.count {
            let word = UnsafeRawPointer(out.base + at).loadUnaligned(as: UInt64.self)
            UnsafeMutableRawPointer(out.base + at).storeBytes(of: word | ASCII.upperCaseBits(word), as: UInt64.self)
            at &+= 8
        }
        while at < out.count {
            if out.base[at] >= 0x41 && out.base[at] <= 0x5A { out.base[at] |= 0x20 }
            at &+= 1
        }
    }

    /// A header value inside its quotes: escaped, or the fingerprint of a secret.
    private func value(_ head: UnsafeRawBufferPointer, _ range: Range<Int>, secret: Bool, into out: OutputBuffer) {
        let bytes = UnsafeRawBufferPointer(rebasing: head[range])
        if secret {
            fingerprints.write(bytes, fingerprint, into: out)
        } else if !out.escaped(bytes) {
            // Not UTF-8 (obs-text): as a String reads it, each bad sequence U+FFFD.
            var repaired = String(decoding: bytes, as: UTF8.self)
            repaired.withUTF8 { _ = out.escaped(UnsafeRawBufferPointer($0)) }
        }
    }

    private func agent(_ start: UnsafeRawBufferPointer, _ exchange: ExchangeRecord, _ end: EndEntries, _ requestFields: borrowing HeadFields,
                       into out: OutputBuffer) {
        let agent = AgentFields(start, requestFields, sessionHeaders: sessionHeaderBytes)
        out.raw(#"{"name":"#)
        if let index = end.agent, index >= 0, index < agentNames.count { out.text(agentNames[index]) } else { out.raw("null") }
        out.raw(#","key":"#)
        if let credential = agent.credential {
            out.byte(UInt8(ascii: "\""))
            credential.withBytes(start) { fingerprints.write($0, fingerprint, into: out) }
            out.byte(UInt8(ascii: "\""))
        } else {
            out.raw("null")
        }
        out.raw(#","session":"#)
        if let session = agent.session { out.text(UnsafeRawBufferPointer(rebasing: start[session])) } else { out.raw("null") }
        out.raw(#","user_agent":"#)
        if let userAgent = agent.userAgent { out.text(UnsafeRawBufferPointer(rebasing: start[userAgent])) } else { out.raw("null") }
        out.byte(UInt8(ascii: "}"))
    }

    /// Every upstream tried, in order; the last is the one whose answer the client got. None for a request that was
    /// never routed.
    private func attempts(_ start: UnsafeRawBufferPointer, _ exchange: ExchangeRecord, _ end: EndEntries, into out: OutputBuffer) {
        out.byte(UInt8(ascii: "["))
        var routed = false
        end.upstream(in: start, default: exchange.upstream) { routed = !$0.isEmpty }
        if routed {
            var earlier: UInt64 = 0
            for attempt in end.attempts() {
                earlier += attempt.nanos
                self.attempt(upstream: { out.text(attempt.upstream) }, status: attempt.status, nanos: attempt.nanos, into: out) {
                    if let error = attempt.error { out.text(error) } else { out.raw("null") }
                }
                out.byte(UInt8(ascii: ","))
            }
            let total = figures.totalNs
            let showsError = !(end.outcomeIs("complete") || end.outcomeIs("client_aborted"))
            attempt(upstream: { end.upstream(in: start, default: exchange.upstream) { out.text($0) } }, status: exchange.status,
                    nanos: total > earlier ? total - earlier : 0, into: out) {
                if !(showsError && end.error({ out.text($0) })) { out.raw("null") }
            }
        }
        out.byte(UInt8(ascii: "]"))
    }

    private func attempt(upstream: () -> Void, status: Int?, nanos: UInt64, into out: OutputBuffer, error: () -> Void) {
        out.raw(#"{"upstream":"#)
        upstream()
        out.raw(#","status":"#)
        Self.optional(status, out)
        out.raw(#","error":"#)
        error()
        out.raw(#","ms":"#)
        out.milliseconds(nanos: nanos)
        out.byte(UInt8(ascii: "}"))
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

    private static func optional(_ value: Int?, _ out: OutputBuffer) {
        if let value { out.decimal(value) } else { out.raw("null") }
    }
}

extension ExchangeRecord {
    func appendRequest(_ bytes: UnsafeRawBufferPointer, cap: Int, files: BodyFiles?) {
        requestBytes += bytes.count
        requestBody.append(bytes, cap: cap, files: files, exchange: exchange, side: "request")
    }

    func appendResponse(_ bytes: UnsafeRawBufferPointer, at readAt: UInt64, cap: Int, files: BodyFiles?) {
        responseBytes += bytes.count
        guard let inflater else {
            takeDecoded(bytes, at: readAt, cap: cap, files: files)
            return
        }
        // A corrupt compressed stream: keep what was decoded before it.
        guard !inflateFailed else { return }
        decoded.removeAll(keepingCapacity: true)
        if !inflater.inflate(bytes, into: &decoded) { inflateFailed = true }
        let decoded = self.decoded
        self.decoded = []
        decoded.withUnsafeBytes { takeDecoded($0, at: readAt, cap: cap, files: files) }
        self.decoded = decoded
    }

    /// The analyser sees the whole stream (usage comes at its end); the stored copy stops at the cap.
    private func takeDecoded(_ decoded: UnsafeRawBufferPointer, at readAt: UInt64, cap: Int, files: BodyFiles?) {
        if isStream { sse.feed(decoded) }
        // First token: the first fragment that added answer text (a stream), or the first body byte.
        if firstTokenAt == nil && (isStream ? sse.hasText : decoded.count > 0) { firstTokenAt = readAt }
        responseBody.append(decoded, cap: cap, files: files, exchange: exchange, side: "response")
    }

    /// The end record's figures (read once, for the line being written: an open exchange carries none).
    func apply(_ end: EndEntries) -> EndFigures {
        var figures = EndFigures()
        figures.connectNs = end.number(.connectNanos) ?? 0
        figures.tlsNs = end.number(.tlsNanos) ?? 0
        figures.tlsResumed = end.number(.tlsResumed) == 1
        figures.headNs = end.number(.headNanos) ?? 0
        figures.firstByteNs = end.number(.firstByteNanos) ?? 0
        figures.totalNs = end.number(.totalNanos) ?? 0
        figures.requestBytes = end.number(.requestBytes)
        figures.responseBytes = end.number(.responseBytes)
        if let dropped = end.number(.droppedBytes) {
            figures.droppedBytes = dropped
            responseDropped = true
        }
        return figures
    }
}

/// Lines of a ring payload as byte ranges, as `LogPayload.lines` splits them (a last line without its newline
/// counts when it is not empty).
struct LineCursor {
    let payload: UnsafeRawBufferPointer
    var at = 0

    init(_ payload: UnsafeRawBufferPointer) { self.payload = payload }

    mutating func next() -> Range<Int>? {
        guard at < payload.count else { return nil }
        let start = at
        if let end = Self.find(payload, 0x0A, in: at..<payload.count) {
            at = end + 1
            return start..<end
        }
        at = payload.count
        return start..<payload.count
    }

    static func find(_ payload: UnsafeRawBufferPointer, _ byte: UInt8, in range: Range<Int>) -> Int? {
        guard !range.isEmpty, let base = payload.baseAddress else { return nil }
        // Lines here are short (a field, an entry): eight bytes at a time beats a call to memchr until they are not.
        if range.count <= 64 {
            var at = range.lowerBound
            let pattern = SWAR.repeated(byte)
            while at &+ 8 <= range.upperBound {
                let hits = SWAR.zeroBytes((base + at).loadUnaligned(as: UInt64.self) ^ pattern)
                if hits != 0 { return at &+ hits.trailingZeroBitCount >> 3 }
                at &+= 8
            }
            let bytes = base.assumingMemoryBound(to: UInt8.self)
            while at < range.upperBound {
                if bytes[at] == byte { return at }
                at &+= 1
            }
            return nil
        }
        guard let hit = memchr(base + range.lowerBound, Int32(byte), range.count) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }
}

/// The end record: its figures (binary words at its start) and its `key=value` text lines, read where they lie in the
/// ring (the line is written before the callback returns). The last entry of a key counts, as when they were read
/// into a dictionary.
struct EndEntries {
    let payload: UnsafeRawBufferPointer
    private var outcomeRange: Range<Int>?
    private var errorRange: Range<Int>?
    private var upstreamRange: Range<Int>?
    private var attemptLines = false
    private var figures = LogPayload.EndFigures()

    init(_ payload: UnsafeRawBufferPointer) {
        self.payload = payload
        guard let figures = LogPayload.EndFigures(payload),
              let base = payload.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        self.figures = figures
        // One pass over the text lines: each line's first "=" and its end found together, names compared in place.
        var i = LogPayload.EndFigures.byteCount
        while i < payload.count {
            let lineStart = i
            var equals = -1
            while i < payload.count && base[i] != 0x0A {
                if equals < 0 && base[i] == UInt8(ascii: "=") { equals = i }
                i += 1
            }
            let value = (equals + 1)..<i
            i += 1
            guard equals >= 0 else { continue }
            let name = UnsafeRawBufferPointer(start: base + lineStart, count: equals - lineStart)
            switch name.count {
            case 5: if Self.same(name, "error") { errorRange = value }
            case 7:
                if Self.same(name, "outcome") { outcomeRange = value }
                else if Self.same(name, "attempt") { attemptLines = true }
            case 8: if Self.same(name, "upstream") { upstreamRange = value }
            default: break
            }
        }
    }

    /// `name` (already known to have the literal's length) is the literal: a short loop, no call to memcmp.
    @inline(__always)
    private static func same(_ name: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        let bytes = literal.utf8Start
        for k in 0..<name.count where name[k] != bytes[k] { return false }
        return true
    }

    func number(_ key: LogPayload.EndKey) -> UInt64? { figures[key] }

    var agent: Int? { number(.agent).map { Int($0) } }

    /// The outcome's bytes ("complete" when the record names none).
    func outcome(_ body: (UnsafeRawBufferPointer) -> Void) {
        if let outcomeRange { body(UnsafeRawBufferPointer(rebasing: payload[outcomeRange])) } else {
            let complete: StaticString = "complete"
            body(UnsafeRawBufferPointer(start: complete.utf8Start, count: complete.utf8CodeUnitCount))
        }
    }

    func outcomeIs(_ name: StaticString) -> Bool {
        guard let outcomeRange else {
            let complete: StaticString = "complete"
            return DeltaFastPath.equals(UnsafeRawBufferPointer(start: complete.utf8Start, count: complete.utf8CodeUnitCount), name)
        }
        return DeltaFastPath.equals(UnsafeRawBufferPointer(rebasing: payload[outcomeRange]), name)
    }

    /// Hands the error text to `body`; false when there is none.
    func error(_ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        guard let errorRange else { return false }
        body(UnsafeRawBufferPointer(rebasing: payload[errorRange]))
        return true
    }

    /// The upstream that answered: the end's, after a failover, else the start's.
    func upstream(in start: UnsafeRawBufferPointer, default range: Range<Int>, _ body: (UnsafeRawBufferPointer) -> Void) {
        if let upstreamRange { body(UnsafeRawBufferPointer(rebasing: payload[upstreamRange])) } else {
            body(UnsafeRawBufferPointer(rebasing: start[range]))
        }
    }

    /// The upstreams tried before the one that answered (rare: only with failover), as `LogPayload.End` reads them.
    func attempts() -> [LogPayload.End.Attempt] {
        attemptLines ? LogPayload.End(payload).attempts : []
    }
}

/// ASCII comparisons over bytes (header names are tokens; content types are compared as the ASCII they are).
enum ASCII {
    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }

    /// 0x20 in each byte of `word` that is an ASCII upper-case letter (0x41...0x5A), 0 elsewhere.
    @inline(__always)
    static func upperCaseBits(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let low7 = word & (ones &* 0x7F)
        // High bit set where the 7-bit value is >= 0x41, and where it is > 0x5A; bytes >= 0x80 are excluded.
        let atLeastA = low7 &+ (ones &* (0x80 - 0x41))
        let aboveZ = low7 &+ (ones &* (0x80 - 0x5B))
        let upper = atLeastA & ~aboveZ & ~word & (ones &* 0x80)
        return upper >> 2
    }

    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
        guard a.count == b.count else { return false }
        for k in 0..<a.count where lower(bytes[a.lowerBound + k]) != lower(bytes[b.lowerBound + k]) { return false }
        return true
    }

    /// `literal` is lower case.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let l = literal.utf8Start
        for k in 0..<range.count where lower(bytes[range.lowerBound + k]) != l[k] { return false }
        return true
    }

    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowered: [UInt8]) -> Bool {
        guard range.count == lowered.count else { return false }
        for k in 0..<range.count where lower(bytes[range.lowerBound + k]) != lowered[k] { return false }
        return true
    }

    static func hasPrefixIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard bytes.count >= n else { return false }
        let l = literal.utf8Start
        for k in 0..<n where lower(bytes[k]) != l[k] { return false }
        return true
    }

    static func containsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard bytes.count >= n else { return false }
        let l = literal.utf8Start
        outer: for start in 0...(bytes.count - n) {
            for k in 0..<n where lower(bytes[start + k]) != l[k] { continue outer }
            return true
        }
        return false
    }
}

/// The last few secrets and their fingerprints ("sha256:" + 12 hex digits).
struct FingerprintCache {
    private var entries: [(secret: [UInt8], print: [UInt8])] = []
    private var next = 0
    static let size = 16

    /// Writes the fingerprint of `secret` (as a String would hold it: bytes that are not UTF-8 are read as U+FFFD,
    /// as before) without its quotes.
    mutating func write(_ secret: UnsafeRawBufferPointer, _ fingerprint: Fingerprint, into out: OutputBuffer) {
        for entry in entries where entry.secret.count == secret.count
            && (secret.isEmpty || entry.secret.withUnsafeBytes({ memcmp($0.baseAddress!, secret.baseAddress!, secret.count) == 0 })) {
            entry.print.withUnsafeBytes { out.raw($0) }
            return
        }
        let valid = String(validating: UnsafeBufferPointer(start: secret.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                                           count: secret.count), as: UTF8.self) != nil
        let print = Array((valid ? fingerprint.of(secret) : fingerprint.of(Array(String(decoding: secret, as: UTF8.self).utf8))).utf8)
        print.withUnsafeBytes { out.raw($0) }
        let entry = (Array(secret), print)
        if entries.count < Self.size { entries.append(entry) } else { entries[next] = entry; next = (next + 1) % Self.size }
    }
}
