// The ring on one thread: framing, wrap-around, the full/empty boundary and the payload limit.
import LogRing
import Testing

@Test func capacityIsAPowerOfTwoOfAtLeast64KiB() {
    #expect(LogRing(capacity: 0).capacity == 64 * 1024)
    #expect(LogRing(capacity: 64 * 1024).capacity == 64 * 1024)
    #expect(LogRing(capacity: 64 * 1024 + 1).capacity == 128 * 1024)
    #expect(LogRing(capacity: 1 << 20).capacity == 1 << 20)
    #expect(LogRing(capacity: 3 << 20).capacity == 4 << 20)
    #expect(LogRing.maxPayload * 4 <= LogRing(capacity: 0).capacity)
}

@Test func recordsRoundTripWithKindExchangeAndPayload() throws {
    let ring = LogRing(capacity: 0)
    let sent: [Sent] = [
        Sent(.start, 1, []),
        Sent(.start, 2, Array("POST /v1/messages HTTP/1.1\r\n\r\n".utf8)),
        Sent(.requestBody, .max, [7]),
        Sent(.responseHead, 0, bytes(8, seed: 1)),
        Sent(.responseBody, 1 << 40, bytes(9, seed: 2)),
        Sent(.end, 3, bytes(LogRing.maxPayload, seed: 3)),
    ]
    for record in sent { #expect(write(ring, record)) }
    // Two pieces make one record: every way of splitting, including empty pieces.
    let whole = bytes(13, seed: 4)
    for cut in 0...whole.count {
        #expect(write(ring, .responseBody, exchange: UInt64(100 + cut), Array(whole[..<cut]), Array(whole[cut...])))
    }
    #expect(write(ring, .requestBody, exchange: 200, [], []))

    let received = drain(ring)
    let expected = sent + (0...whole.count).map { Sent(.responseBody, UInt64(100 + $0), whole) } +
        [Sent(.requestBody, 200, [])]
    #expect(received == expected)
    #expect(ring.usedBytes == 0)
    #expect(ring.consume { _ in Issue.record("nothing left to consume") } == 0)
}

/// A bounded consume stops after the record that reaches its byte limit; the next call goes on from there, in order.
@Test func consumeWithAByteLimitLeavesTheRestInOrder() {
    let ring = LogRing(capacity: 0)
    // Records of 16 + 48 = 64 ring bytes each.
    let sent = (0..<10).map { Sent(.responseBody, UInt64($0), bytes(48, seed: $0)) }
    for record in sent { #expect(write(ring, record)) }
    var received: [Sent] = []
    var calls: [Int] = []
    while true {
        let count = ring.consume(maxBytes: 150) { received.append(Sent($0.kind, $0.exchange, Array($0.payload))) }
        if count == 0 { break }
        calls.append(count)
    }
    // 64, 128, then 192 >= 150: three records per call, the last call the one left.
    #expect(calls == [3, 3, 3, 1])
    #expect(received == sent)
    #expect(ring.usedBytes == 0)
}

@Test func recordSizeIsHeaderPlusPayloadPaddedToEightBytes() {
    let ring = LogRing(capacity: 0)
    for (payload, recordBytes) in [(0, 16), (1, 24), (7, 24), (8, 24), (9, 32), (16, 32), (LogRing.maxPayload, 16400)] {
        #expect(write(ring, Sent(.requestBody, 1, bytes(payload, seed: 5))))
        #expect(ring.usedBytes == recordBytes, "payload \(payload)")
        #expect(drain(ring).count == 1)
    }
}

@Test func fullExactlyWhenNoRoomAndWritableAgainAfterConsume() {
    let ring = LogRing(capacity: 0)
    // Four records of exactly a quarter of the ring fill it to the byte.
    let quarter = bytes(ring.capacity / 4 - 16, seed: 6)
    for exchange in 1...4 {
        #expect(ring.canWrite(payloadBytes: quarter.count))
        #expect(write(ring, Sent(.responseBody, UInt64(exchange), quarter)))
    }
    #expect(ring.usedBytes == ring.capacity)
    #expect(!ring.canWrite(payloadBytes: 0))
    #expect(!write(ring, Sent(.end, 5, [])))
    #expect(!write(ring, .end, exchange: 5, [], []))
    #expect(ring.usedBytes == ring.capacity, "a refused write writes nothing")
    #expect(drain(ring).map(\.exchange) == [1, 2, 3, 4])
    #expect(ring.usedBytes == 0)
    #expect(ring.canWrite(payloadBytes: LogRing.maxPayload))
    #expect(write(ring, Sent(.end, 5, [])))
    #expect(drain(ring) == [Sent(.end, 5, [])])

    // 24-byte records: 2730 fill all but 16 bytes, so one more 24-byte record is refused while an empty one
    // (16 bytes) still fits, and after it nothing does.
    let small = bytes(8, seed: 7)
    for index in 0..<2730 { #expect(write(ring, Sent(.requestBody, UInt64(index), small))) }
    #expect(!ring.canWrite(payloadBytes: 8))
    #expect(!write(ring, Sent(.requestBody, 9999, small)))
    #expect(write(ring, Sent(.start, 10_000, [])))
    #expect(ring.usedBytes == ring.capacity)
    #expect(!write(ring, Sent(.start, 10_001, [])))
    let received = drain(ring)
    #expect(received.count == 2731)
    #expect(received.last == Sent(.start, 10_000, []))
}

@Test func recordThatDoesNotFitBeforeTheEndStartsAtOffsetZeroAfterPadding() {
    let ring = LogRing(capacity: 0)
    // Fill up to 40 bytes before the end (3 × 16400 + 16296), consume, then write a 48-byte record: a 40-byte
    // padding record covers the end, the record goes to offset 0.
    let big = bytes(LogRing.maxPayload, seed: 8)
    for _ in 0..<3 { #expect(write(ring, Sent(.requestBody, 1, big))) }
    #expect(write(ring, Sent(.requestBody, 1, bytes(ring.capacity - 3 * 16400 - 40 - 16, seed: 9))))
    #expect(ring.usedBytes == ring.capacity - 40)
    #expect(drain(ring).count == 4)
    let record = Sent(.responseBody, 2, bytes(32, seed: 10))
    #expect(write(ring, record))
    #expect(ring.usedBytes == 40 + 48)
    #expect(drain(ring) == [record], "padding is never handed out")
}

@Test func fewerThanSixteenBytesBeforeTheEndAreSkippedWithoutAHeader() {
    let ring = LogRing(capacity: 0)
    // Fill up to 8 bytes before the end: too few for even a padding header.
    let big = bytes(LogRing.maxPayload, seed: 11)
    for _ in 0..<3 { #expect(write(ring, Sent(.requestBody, 1, big))) }
    #expect(write(ring, Sent(.requestBody, 1, bytes(ring.capacity - 3 * 16400 - 8 - 16, seed: 12))))
    #expect(ring.usedBytes == ring.capacity - 8)
    #expect(drain(ring).count == 4)
    #expect(ring.consume { _ in } == 0, "an empty ring at 8 bytes before the end has nothing to skip yet")
    let record = Sent(.end, 3, bytes(5, seed: 13))
    #expect(write(ring, record))
    #expect(ring.usedBytes == 8 + 24)
    #expect(drain(ring) == [record])
    #expect(ring.usedBytes == 0)
}

/// Random sizes and random batch lengths for many laps, each write checked against a model of the framing rule
/// (written from the rule, not from the implementation) and every record checked on the way out.
@Test func wrapsAroundManyTimesWithVaryingSizes() {
    let ring = LogRing(capacity: 0)
    var model = RingModel(capacity: ring.capacity)
    var random = SplitMix64(seed: 42)
    var exchange: UInt64 = 0
    var pending: [Sent] = []
    var refusals = 0
    while model.head < 60 * ring.capacity {
        let batch = Int(random.next() % 40)
        for _ in 0..<batch {
            let roll = random.next()
            let size = roll & 1 == 0 ? Int((roll >> 8) % 100) : Int((roll >> 8) % UInt64(LogRing.maxPayload + 1))
            let kinds: [LogRecordKind] = [.start, .requestBody, .responseHead, .responseBody, .end]
            let record = Sent(kinds[Int((roll >> 1) % UInt64(kinds.count))], exchange, bytes(size, seed: exchange))
            let fits = model.write(payload: size)
            #expect(ring.canWrite(payloadBytes: size) == fits)
            #expect(write(ring, record) == fits)
            #expect(ring.usedBytes == model.head - model.tail)
            if fits {
                pending.append(record)
                exchange += 1
            } else {
                refusals += 1
            }
        }
        if random.next() % 3 == 0 {
            let received = drain(ring)
            #expect(received == pending)
            pending.removeAll()
            model.tail = model.head
            #expect(ring.usedBytes == 0)
        }
    }
    #expect(drain(ring) == pending)
    #expect(refusals > 100, "the full boundary was reached often")
    #expect(model.skips > 50, "the end of the buffer was skipped often")
}

@Test func payloadLimitIsEnforced() async {
    let ring = LogRing(capacity: 0)
    #expect(ring.canWrite(payloadBytes: LogRing.maxPayload))
    #expect(!ring.canWrite(payloadBytes: LogRing.maxPayload + 1))
    #expect(!ring.canWrite(payloadBytes: -1))
    // A bigger payload can never fit, so writing one is a programming error, not "full": the process stops.
    await #expect(processExitsWith: .failure) {
        let ring = LogRing(capacity: 1 << 20)
        let payload = [UInt8](repeating: 1, count: LogRing.maxPayload + 1)
        _ = payload.withUnsafeBytes { ring.tryWrite(kind: .requestBody, exchange: 1, payload: $0) }
    }
    await #expect(processExitsWith: .failure) {
        let ring = LogRing(capacity: 1 << 20)
        let half = [UInt8](repeating: 1, count: LogRing.maxPayload / 2 + 1)
        _ = half.withUnsafeBytes { first in
            half.withUnsafeBytes { second in
                ring.tryWrite(kind: .requestBody, exchange: 1, payloads: first, second)
            }
        }
    }
}

/// The padding between the two positions is really there: find head's and tail's words in the object by value.
@Test func headAndTailAreAtLeast128BytesApart() throws {
    let ring = LogRing(capacity: 0)
    let record = bytes(8, seed: 14)
    for _ in 0..<1000 { #expect(write(ring, Sent(.requestBody, 1, record))) }
    _ = drain(ring)
    for _ in 0..<500 { #expect(write(ring, Sent(.requestBody, 1, record))) }
    let (head, tail) = (1500 * 24, 1000 * 24)  // values no other field holds
    // Object header, four read-only words, padding, head, one word, padding, tail, padding: 456 bytes at least.
    let object = UnsafeRawPointer(Unmanaged.passUnretained(ring).toOpaque())
    let words = (0..<48).map { object.load(fromByteOffset: $0 * 8, as: Int.self) }
    #expect(words.filter { $0 == head }.count == 1 && words.filter { $0 == tail }.count == 1)
    let headOffset = try #require(words.firstIndex(of: head)) * 8
    let tailOffset = try #require(words.firstIndex(of: tail)) * 8
    #expect(tailOffset - headOffset >= 128)
    #expect(headOffset >= 16 + 4 * 8 + 128, "head is 128 bytes past the header and read-only fields")
    withExtendedLifetime(ring) {}
}

// MARK: Helpers

struct Sent: Equatable, CustomStringConvertible {
    let kind: LogRecordKind
    let exchange: UInt64
    let payload: [UInt8]

    init(_ kind: LogRecordKind, _ exchange: UInt64, _ payload: [UInt8]) {
        self.kind = kind
        self.exchange = exchange
        self.payload = payload
    }

    var description: String { "\(kind) #\(exchange) (\(payload.count) bytes)" }
}

func write(_ ring: LogRing, _ record: Sent) -> Bool {
    record.payload.withUnsafeBytes { ring.tryWrite(kind: record.kind, exchange: record.exchange, payload: $0) }
}

func write(_ ring: LogRing, _ kind: LogRecordKind, exchange: UInt64, _ first: [UInt8], _ second: [UInt8]) -> Bool {
    first.withUnsafeBytes { first in
        second.withUnsafeBytes { second in ring.tryWrite(kind: kind, exchange: exchange, payloads: first, second) }
    }
}

func drain(_ ring: LogRing) -> [Sent] {
    var received: [Sent] = []
    let count = ring.consume { received.append(Sent($0.kind, $0.exchange, Array($0.payload))) }
    #expect(count == received.count)
    return received
}

func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var random = SplitMix64(seed: seed)
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        let raw = UnsafeMutableRawBufferPointer(buffer)
        var index = 0
        while index < count {
            let word = random.next()
            withUnsafeBytes(of: word) { word in
                let take = min(8, count - index)
                UnsafeMutableRawBufferPointer(rebasing: raw[index..<index + take])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: word[..<take]))
            }
            index += 8
        }
        initialized = count
    }
}

/// The framing rule as the documentation states it: records are 16 + payload rounded up to 8 bytes, never wrap,
/// and skip the rest of the buffer when they do not fit before its end.
struct RingModel {
    let capacity: Int
    var head = 0
    var tail = 0
    var skips = 0

    mutating func write(payload: Int) -> Bool {
        let size = 16 + (payload + 7) / 8 * 8
        let untilEnd = capacity - head % capacity
        let start = size <= untilEnd ? head : head + untilEnd
        guard start + size - tail <= capacity else { return false }
        if start != head { skips += 1 }
        head = start + size
        return true
    }
}

/// A small seeded generator (SplitMix64), so every run writes the same sizes and bytes.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Test func freePagesGoBackAndUnreadRecordsSurvive() throws {
    let ring = LogRing(capacity: 1 << 20)
    #expect(ring.residentBytes < 64 * 1024, "a new ring is not resident")
    // Three quarters of the ring pass through: those pages become resident.
    var passed: [Sent] = []
    while ring.usedBytes < (ring.capacity * 3) / 4 {
        let record = Sent(.responseBody, UInt64(passed.count), bytes(4000 + passed.count % 97, seed: UInt64(passed.count)))
        #expect(write(ring, record))
        passed.append(record)
    }
    #expect(drain(ring) == passed)
    #expect(ring.residentBytes >= (ring.capacity * 3) / 4 - 4096)
    // A few records stay unread while the free space goes back.
    var unread: [Sent] = []
    let producedBefore = ring.producedBytes
    for i in 0..<5 {
        let record = Sent(.responseBody, 1000 + UInt64(i), bytes(3000, seed: UInt64(i)))
        #expect(write(ring, record))
        unread.append(record)
    }
    #expect(ring.producedBytes - producedBefore >= 5 * 3016 && ring.producedBytes - producedBefore < 5 * 3016 + 3016)
    // Keeping a lap's worth ahead (what a busy loop wrote in the last round) gives nothing back.
    #expect(ring.releaseFreePages(keepingAhead: ring.capacity) == 0)
    let produced = ring.producedBytes
    let released = ring.releaseFreePages(keepingAhead: 0)
    #expect(ring.producedBytes == produced, "releasing pages moves no position")
    #expect(released >= ring.capacity - 5 * 3016 - 2 * 4096)
    #expect(ring.residentBytes <= 8 * 4096, "only the pages holding the unread records stay")
    #expect(drain(ring) == unread)
    // The ring goes on working across laps with releases in between, every record intact.
    for lap in 0..<6 {
        var batch: [Sent] = []
        while ring.usedBytes < ring.capacity / 2 {
            let size = 1 + (batch.count * 37 + lap) % LogRing.maxPayload
            let record = Sent(.end, UInt64(lap * 10_000 + batch.count), bytes(size, seed: UInt64(lap * 1_000 + batch.count)))
            #expect(write(ring, record))
            batch.append(record)
            if batch.count % 7 == 0 { ring.releaseFreePages(keepingAhead: 4096) }
        }
        #expect(drain(ring) == batch)
    }
}
