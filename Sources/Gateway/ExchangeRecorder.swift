// The loop side of the exchange log: copies each phase of each exchange into the lock-free ring the logger
// thread drains, rings the logger's doorbell at most once per loop iteration, and applies the overflow
// policy when the ring is full. Nothing here blocks, and nothing allocates unless the ring overflows.
import HTTP1
import LogRing
import Metrics
import UV
#if canImport(Glibc)
import Glibc
#endif

public enum LogOverflowPolicy: String, Sendable, CaseIterable {
    /// Stop reading the side whose bytes do not fit until the logger catches up: nothing is lost.
    case pause
    /// Keep streaming; the bytes that do not fit are not logged, and the record says so.
    case drop
}

/// Counters an operator wants to see (exposed as metrics later).
/// What the overflow policy did, for /metrics (written by the loop, read by the admin endpoint).
public enum LogCounter: Int, CaseIterable {
    /// Body bytes left out of records (drop policy).
    case droppedBytes
    /// Times a reader was paused because the ring was full (pause policy).
    case pauses
    /// Start/head/end records lost because even the 16 MiB queue behind the ring was full.
    case lostRecords
}

/// Loop-owned: every method runs on the gateway's loop thread (`@unchecked Sendable` only so the process
/// entry point can hold it; it is never touched from another thread).
public final class ExchangeRecorder: ExchangeObserver, @unchecked Sendable {
    public let ring: LogRing
    public let wakeup: LogWakeup
    public let policy: LogOverflowPolicy
    public let counters = AtomicCounters(count: LogCounter.allCases.count)

    /// For its clock (`eventTime`: the time the bytes being recorded arrived).
    private let loop: EventLoop
    private var check: LoopCheck?
    /// While records wait for room, the loop must keep turning even if no socket is active (the paused
    /// readers are exactly what would have woken it): this timer retries every millisecond until they are in.
    private var retry: Timer?
    private var retrying = false
    /// Four times a second, the ring's free pages beyond what the last quarter second wrote (at least
    /// `ringPagesKeptAtLeast`) go back to the kernel (see `LogRing.releaseFreePages`): the ring costs the memory of
    /// what passes through it in a quarter of a second, not its capacity, and an idle gateway gives it all back.
    /// Keeping what the last round wrote, not a fixed amount, is what keeps a busy ring's pages resident: with 128 KiB
    /// kept, a ring written at 50 MB/s (small JSON exchanges at line rate) took a page fault every 4 KiB of records,
    /// 0.07 per exchange, which the loop thread paid.
    private var pageRelease: Timer?
    static let pageReleaseMilliseconds: UInt64 = 250
    var ringPagesKeptAtLeast: Int { min(128 * 1024, ring.capacity / 4) }
    private var producedAtLastRelease = 0
    private var producedThisIteration = false
    /// Records that did not fit, oldest first. While it is non-empty every new record queues behind it, so
    /// each exchange's records stay in order. Bounded: past `pendingLimit` control records are counted lost.
    private var pending: [(kind: LogRecordKind, id: UInt64, bytes: [UInt8])] = []
    private var pendingBytes = 0
    static let pendingLimit = 16 << 20
    private var waiters: [LogRoomWaiter] = []
    private var droppedByExchange: [UInt64: UInt64] = [:]
    private var attemptsByExchange: [UInt64: [String]] = [:]
    private var scratch = PayloadBuffer(capacity: 4096)

    public init(loop: EventLoop, ring: LogRing, wakeup: LogWakeup, policy: LogOverflowPolicy) {
        self.loop = loop
        self.ring = ring
        self.wakeup = wakeup
        self.policy = policy
        check = LoopCheck(loop: loop) { [unowned self] in self.endOfIteration() }
        retry = Timer(loop: loop) { [unowned self] in self.endOfIteration() }
        pageRelease = Timer(loop: loop) { [unowned self] in releaseRingPages() }
        pageRelease?.start(repeatingEvery: Self.pageReleaseMilliseconds)
        pageRelease?.unref()
    }

    private func releaseRingPages() {
        let produced = ring.producedBytes
        let recent = produced &- producedAtLastRelease
        producedAtLastRelease = produced
        ring.releaseFreePages(keepingAhead: max(ringPagesKeptAtLeast, recent))
    }

    public func close() {
        endOfIteration()
        check?.close()
        check = nil
        retry?.close()
        retry = nil
        pageRelease?.close()
        pageRelease = nil
    }

    /// Shutdown only (the loop has stopped serving): waits until every queued record is in the ring, so the
    /// logger can write them all. Bounded: gives up after five seconds and counts what is left as lost.
    public func flushAll() {
        var waited = 0
        endOfIteration()
        while !pending.isEmpty && waited < 5_000 {
            usleep(1_000)
            waited += 1
            endOfIteration()
        }
        counters.add(LogCounter.lostRecords.rawValue, UInt64(pending.count))
        pending.removeAll()
        wakeup.ring()
    }

    // MARK: ExchangeObserver

    public func exchangeStarted(_ id: UInt64, client: String, upstream: [UInt8], request: HTTPHead) {
        scratch.removeAll()
        let monotonic = loop.eventTime
        LogPayload.appendClocks(wallMicros: wallMicros(at: monotonic), monotonicNanos: monotonic, into: &scratch)
        var client = client
        client.withUTF8 { LogPayload.appendLine(UnsafeRawBufferPointer($0), into: &scratch) }
        upstream.withUnsafeBytes { LogPayload.appendLine($0, into: &scratch) }
        request.withBytes(request.target) { target in
            LogPayload.appendRequestLine(method: request.method.name, target: target, versionMajor: request.versionMajor,
                                         versionMinor: request.versionMinor, into: &scratch)
        }
        appendFields(request)
        writeControl(.start, id)
    }

    /// The wall clock (µs since the epoch) at a monotonic time of this iteration: the monotonic time plus an offset
    /// sampled at most every 100 ms, not a clock read per exchange. A wall clock stepped (NTP, an operator) shows
    /// within 100 ms; a slewed one drifts from the offset by far less than a microsecond in that time.
    private func wallMicros(at monotonic: UInt64) -> UInt64 {
        // Signed: a read earlier in this iteration than the last sample is just as near to it.
        let age = Int64(bitPattern: monotonic &- wallSampledAt)
        if wallSampledAt == 0 || age > Self.wallSampleNanos || age < -Self.wallSampleNanos {
            var wall = timespec()
            clock_gettime(CLOCK_REALTIME, &wall)
            let sampledAt = EventLoop.hrtime()
            wallOffsetMicros = Int64(wall.tv_sec) * 1_000_000 + Int64(wall.tv_nsec / 1000) - Int64(sampledAt / 1000)
            wallSampledAt = sampledAt
        }
        return UInt64(max(0, Int64(monotonic / 1000) &+ wallOffsetMicros))
    }

    static let wallSampleNanos: Int64 = 100_000_000
    private var wallSampledAt: UInt64 = 0
    private var wallOffsetMicros: Int64 = 0

    public func requestBody(_ id: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool {
        writeBody(.requestBody, id, bytes)
    }

    public func responseHead(_ id: UInt64, _ head: HTTPHead) {
        scratch.removeAll()
        head.withBytes(head.target) { LogPayload.appendStatusLine(head.status, reason: $0, into: &scratch) }
        appendFields(head)
        writeControl(.responseHead, id)
    }

    public func responseBody(_ id: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool {
        writeBody(.responseBody, id, bytes)
    }

    public func attemptFailed(_ id: UInt64, _ attempt: FailedAttempt) {
        // Kept until the end record (only exchanges that failed over have any).
        var line = "\(attempt.status)\t\(attempt.nanos)\t"
        line += String(decoding: attempt.upstream, as: UTF8.self) + "\t"
        line += (attempt.error ?? "").replacing("\t", with: " ")
        attemptsByExchange[id, default: []].append(line)
    }

    public func exchangeEnded(_ id: UInt64, _ end: ExchangeEnd) {
        // Times are nanoseconds from the start.
        let timing = end.timing
        // The figures first, as binary words (see LogPayload), then the texts.
        var figures = LogPayload.EndFigures()
        func relative(_ at: UInt64) -> UInt64 { at == 0 ? 0 : at &- timing.started }
        figures.set(.connectNanos, relative(timing.upstreamConnected))
        if timing.upstreamTLSHandshake > 0 {
            figures.set(.tlsNanos, timing.upstreamTLSHandshake)
            figures.set(.tlsResumed, timing.upstreamTLSResumed ? 1 : 0)
        }
        figures.set(.headNanos, relative(timing.responseHead))
        figures.set(.firstByteNanos, relative(timing.firstBodyByte))
        figures.set(.totalNanos, relative(timing.ended))
        figures.set(.requestBytes, timing.requestBodyBytes)
        figures.set(.responseBytes, timing.responseBodyBytes)
        if let agent = end.agent { figures.set(.agent, UInt64(agent)) }
        // Both tables are empty but for failover and dropped bytes: no hashing for the common exchange.
        if !droppedByExchange.isEmpty, let dropped = droppedByExchange.removeValue(forKey: id) {
            figures.set(.droppedBytes, dropped)
        }
        scratch.removeAll()
        figures.append(into: &scratch)
        LogPayload.appendEntry(.outcome, name: end.outcome.name, into: &scratch)
        if let error = end.error { LogPayload.appendEntry(.error, error, into: &scratch) }
        if let upstream = end.upstream { LogPayload.appendEntry(.upstream, String(decoding: upstream, as: UTF8.self), into: &scratch) }
        if !attemptsByExchange.isEmpty, let attempts = attemptsByExchange.removeValue(forKey: id) {
            for attempt in attempts { LogPayload.appendEntry(.attempt, attempt, into: &scratch) }
        }
        writeControl(.end, id)
    }

    public func notifyWhenRoom(_ waiter: LogRoomWaiter) {
        waiters.append(waiter)
    }

    // MARK: Writing records

    /// The head's fields as `name: value\n` lines: the parser keeps them in that form (one copy).
    private func appendFields(_ head: HTTPHead) {
        head.withBytes(head.fieldLines) { scratch.append($0) }
    }

    /// Start, heads and end must reach the logger whatever the ring's fill: they queue when it is full.
    private func writeControl(_ kind: LogRecordKind, _ id: UInt64) {
        let bytes = scratch.bytes
        let written = pending.isEmpty && bytes.count <= LogRing.maxPayload && ring.tryWrite(kind: kind, exchange: id, payload: bytes)
        if written {
            producedThisIteration = true
        } else if pendingBytes + scratch.count <= ExchangeRecorder.pendingLimit {
            // A head over the record limit is cut there: one record per phase, whatever its size.
            let record = Array(scratch.bytes.prefix(LogRing.maxPayload))
            pending.append((kind, id, record))
            pendingBytes += record.count
        } else {
            counters.add(LogCounter.lostRecords.rawValue)
        }
    }

    /// Body fragments go in pieces of at most `maxPayload`, each after the 8-byte monotonic time it was read
    /// (so the logger can tell when the first token arrived). Returns false when the caller must pause.
    private func writeBody(_ kind: LogRecordKind, _ id: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var stamp = LogPayload.bodyStamp(loop.eventTime)
        let maxPiece = LogRing.maxPayload - 8
        var offset = 0
        while offset < bytes.count {
            let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(bytes.count, offset + maxPiece)])
            // Behind queued records nothing may overtake them: each exchange's records stay in order.
            let written = pending.isEmpty
                && withUnsafeBytes(of: &stamp) { ring.tryWrite(kind: kind, exchange: id, payloads: $0, piece) }
            if written {
                producedThisIteration = true
                offset += piece.count
                continue
            }
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            switch policy {
            case .drop:
                counters.add(LogCounter.droppedBytes.rawValue, UInt64(rest.count))
                droppedByExchange[id, default: 0] &+= UInt64(rest.count)
                return true
            case .pause:
                // Keep this fragment (at most one read per paused connection) and stop its reader.
                var start = 0
                while start < rest.count {
                    let end = min(rest.count, start + maxPiece)
                    var record = withUnsafeBytes(of: &stamp) { Array($0) }
                    record.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[start..<end]))
                    pending.append((kind, id, record))
                    start = end
                }
                pendingBytes += rest.count
                counters.add(LogCounter.pauses.rawValue)
                return false
            }
        }
        return true
    }

    /// Once per loop iteration: move queued records into the ring, wake paused readers when everything
    /// queued has gone, and ring the logger's doorbell once for all records of the iteration.
    private func endOfIteration() {
        if !pending.isEmpty {
            var moved = 0
            for record in pending {
                let ok = record.bytes.withUnsafeBytes { ring.tryWrite(kind: record.kind, exchange: record.id, payload: $0) }
                guard ok else { break }
                moved += 1
                pendingBytes -= record.bytes.count
            }
            if moved > 0 {
                pending.removeFirst(moved)
                producedThisIteration = true
            }
        }
        if pending.isEmpty == retrying {
            retrying = !pending.isEmpty
            if retrying { retry?.start(repeatingEvery: 1) } else { retry?.stop() }
        }
        if pending.isEmpty && !waiters.isEmpty {
            let resumed = waiters
            waiters.removeAll()
            for waiter in resumed { waiter.logHasRoom() }
        }
        if producedThisIteration {
            producedThisIteration = false
            wakeup.ringIfWaiting(usedBytes: ring.usedBytes)
        }
    }
}
