// What each agent is using right now, shared by every worker of one kgb process without locks: the exchanges in
// flight, two rate buckets (requests and tokens per minute) and the dollars spent today. The loops read it to admit
// or refuse a request; the loops count requests in and out; the logger threads charge tokens and dollars once an
// exchange's usage is known. Every field is one atomic word, changed by an atomic read-modify-write (several
// threads write each), so totals are exact and a limit is passed by at most the requests admitted at one instant.
import Synchronization

public final class AgentUsage: @unchecked Sendable {
    /// Per agent: the limits that apply (nil: none), as the buckets use them.
    public struct Limits: Sendable, Equatable {
        public var maxConcurrent: Int?
        public var requestsPerMinute: Int?
        public var tokensPerMinute: Int?
        public var usdPerDay: Double?

        public init(maxConcurrent: Int? = nil, requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil,
                    usdPerDay: Double? = nil) {
            self.maxConcurrent = maxConcurrent
            self.requestsPerMinute = requestsPerMinute
            self.tokensPerMinute = tokensPerMinute
            self.usdPerDay = usdPerDay
        }
    }

    /// Which limit refused a request, and when to try again.
    public struct Refusal: Equatable, Sendable {
        public enum Limit: String, Sendable { case maxConcurrent = "max_concurrent", requestsPerMinute = "requests_per_minute",
                                                   tokensPerMinute = "tokens_per_minute", usdPerDay = "usd_per_day" }
        public let limit: Limit
        public let retryAfterSeconds: Int
    }

    public let limits: [Limits]
    /// Four words per agent: in flight, request bucket, token bucket, today's spend (see `Field`).
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private enum Field: Int { case inFlight, requestBucket, tokenBucket, spend }

    public init(limits: [Limits]) {
        self.limits = limits
        words = .allocate(capacity: limits.count * 4)
        for index in 0..<(limits.count * 4) { (words + index).initialize(to: Atomic(0)) }
    }

    deinit {
        words.deinitialize(count: limits.count * 4)
        words.deallocate()
    }

    private func word(_ agent: Int, _ field: Field) -> UnsafeMutablePointer<Atomic<UInt64>> { words + agent * 4 + field.rawValue }

    /// Whether `agent` may start a request now (`now`: monotonic ns; `utcDay`: days since the epoch, `secondsToMidnight`
    /// until the next). An admitted request is counted in flight until `exchangeEnded`.
    public func admit(_ agent: Int, now: UInt64, utcDay: UInt64, secondsToMidnight: Int) -> Refusal? {
        let limits = self.limits[agent]
        if let usd = limits.usdPerDay {
            let spend = SpendToday(packed: word(agent, .spend).pointee.load(ordering: .relaxed))
            if spend.microUSD(on: utcDay) >= UInt64(usd * 1_000_000) {
                return Refusal(limit: .usdPerDay, retryAfterSeconds: max(1, secondsToMidnight))
            }
        }
        if let perMinute = limits.tokensPerMinute {
            let bucket = RateBucket(perMinute: perMinute)
            let wait = bucket.waitBeforeNextRequest(state: word(agent, .tokenBucket).pointee.load(ordering: .relaxed), now: now)
            if wait > 0 { return Refusal(limit: .tokensPerMinute, retryAfterSeconds: RateBucket.seconds(wait)) }
        }
        if let max = limits.maxConcurrent {
            let inFlight = word(agent, .inFlight).pointee.wrappingAdd(1, ordering: .relaxed).newValue
            if inFlight > UInt64(max) {
                word(agent, .inFlight).pointee.wrappingSubtract(1, ordering: .relaxed)
                return Refusal(limit: .maxConcurrent, retryAfterSeconds: 1)
            }
        }
        if let perMinute = limits.requestsPerMinute {
            let bucket = RateBucket(perMinute: perMinute)
            let state = word(agent, .requestBucket)
            var current = state.pointee.load(ordering: .relaxed)
            while true {
                switch bucket.take(1, state: current, now: now) {
                case .refused(let wait):
                    if limits.maxConcurrent != nil { word(agent, .inFlight).pointee.wrappingSubtract(1, ordering: .relaxed) }
                    return Refusal(limit: .requestsPerMinute, retryAfterSeconds: RateBucket.seconds(wait))
                case .taken(let next):
                    let (exchanged, original) = state.pointee.compareExchange(expected: current, desired: next, ordering: .relaxed)
                    if exchanged { return nil }
                    current = original
                }
            }
        }
        return nil
    }

    /// An admitted request's exchange ended (exactly once per admitted request).
    public func exchangeEnded(_ agent: Int) {
        if limits[agent].maxConcurrent != nil { word(agent, .inFlight).pointee.wrappingSubtract(1, ordering: .relaxed) }
    }

    /// The logger counted an exchange's usage: tokens go into the token bucket (it may go below empty: the next
    /// request waits), dollars onto today's spend.
    public func charge(_ agent: Int, tokens: Int, microUSD: UInt64, now: UInt64, utcDay: UInt64) {
        guard agent >= 0 && agent < limits.count else { return }
        if let perMinute = limits[agent].tokensPerMinute, tokens > 0 {
            let bucket = RateBucket(perMinute: perMinute)
            let state = word(agent, .tokenBucket)
            var current = state.pointee.load(ordering: .relaxed)
            while true {
                let (exchanged, original) = state.pointee.compareExchange(
                    expected: current, desired: bucket.charged(UInt64(tokens), state: current, now: now), ordering: .relaxed)
                if exchanged { break }
                current = original
            }
        }
        if limits[agent].usdPerDay != nil, microUSD > 0 {
            let state = word(agent, .spend)
            var current = state.pointee.load(ordering: .relaxed)
            while true {
                let next = SpendToday(packed: current).adding(microUSD, on: utcDay).packed
                let (exchanged, original) = state.pointee.compareExchange(expected: current, desired: next, ordering: .relaxed)
                if exchanged { break }
                current = original
            }
        }
    }

    /// Exchanges of `agent` in flight now (counted only when it has a max_concurrent limit).
    public func inFlight(_ agent: Int) -> Int { Int(truncatingIfNeeded: word(agent, .inFlight).pointee.load(ordering: .relaxed)) }

    /// Dollars `agent` spent on `utcDay` (counted only when it has a usd_per_day limit).
    public func spent(_ agent: Int, utcDay: UInt64) -> Double {
        Double(SpendToday(packed: word(agent, .spend).pointee.load(ordering: .relaxed)).microUSD(on: utcDay)) / 1_000_000
    }
}

/// A token bucket of `perMinute` units that refills continuously over a minute, kept as one number: the moment
/// (monotonic ns) at which the bucket would be full again (GCRA's "theoretical arrival time"). Taking n units moves
/// it n × interval later; the bucket is empty when it lies a whole minute ahead of now.
public struct RateBucket: Equatable, Sendable {
    /// Nanoseconds one unit takes to refill.
    public let interval: UInt64
    public static let window: UInt64 = 60_000_000_000

    public init(perMinute: Int) { interval = Self.window / UInt64(max(1, perMinute)) }

    public enum Take: Equatable { case taken(UInt64), refused(waitNanos: UInt64) }

    /// Takes `units` if the bucket holds them; otherwise says how long until it does.
    public func take(_ units: UInt64, state: UInt64, now: UInt64) -> Take {
        let next = max(state, now) + units * interval
        let limit = now + Self.window
        return next <= limit ? .taken(next) : .refused(waitNanos: next - limit)
    }

    /// Units used after the fact (tokens counted when the answer ended): the bucket may go below empty.
    public func charged(_ units: UInt64, state: UInt64, now: UInt64) -> UInt64 { max(state, now) + units * interval }

    /// 0 when a request (of unknown cost) may start: the bucket is not empty. Else the nanoseconds until it is not.
    public func waitBeforeNextRequest(state: UInt64, now: UInt64) -> UInt64 {
        let limit = now + Self.window
        return state < limit ? 0 : max(1, state - limit)
    }

    /// Whole seconds, rounded up, at least 1 (Retry-After).
    public static func seconds(_ nanos: UInt64) -> Int { max(1, Int((nanos + 999_999_999) / 1_000_000_000)) }
}

/// Dollars spent on one UTC day, packed in a word: the day (days since the epoch) in the top 16 bits, micro-dollars
/// in the other 48 (up to $281 million). A charge on a later day starts the count again.
public struct SpendToday: Equatable, Sendable {
    public let packed: UInt64

    public init(packed: UInt64) { self.packed = packed }
    public init(day: UInt64, microUSD: UInt64) { packed = (day & 0xffff) << 48 | min(microUSD, Self.maxMicro) }

    static let maxMicro: UInt64 = (1 << 48) - 1
    public var day: UInt64 { packed >> 48 }

    public func microUSD(on day: UInt64) -> UInt64 { (day & 0xffff) == self.day ? packed & Self.maxMicro : 0 }

    public func adding(_ micro: UInt64, on day: UInt64) -> SpendToday {
        SpendToday(day: day, microUSD: microUSD(on: day) + micro)
    }
}
