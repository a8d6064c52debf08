// The agents' limits as the loops and loggers share them: the rate buckets, today's spend, and admission, driven
// with explicit clocks (no sleeping).
@testable import Metrics
import Testing

private let second: UInt64 = 1_000_000_000
private let start: UInt64 = 1_000 * second

@Test func aRequestBucketHoldsAMinutesWorthAndRefillsContinuously() {
    let bucket = RateBucket(perMinute: 60)  // one a second
    var state: UInt64 = 0
    for taken in 0..<60 {
        guard case .taken(let next) = bucket.take(1, state: state, now: start) else {
            Issue.record("request \(taken + 1) of 60 refused")
            return
        }
        state = next
    }
    #expect(bucket.take(1, state: state, now: start) == .refused(waitNanos: second), "the 61st waits for one refill")
    #expect(RateBucket.seconds(second) == 1)
    guard case .taken = bucket.take(1, state: state, now: start + second) else {
        Issue.record("a second later one request fits again")
        return
    }
    #expect(bucket.take(1, state: state, now: start + 120 * second) != .refused(waitNanos: 0))
}

@Test func tokensChargedAfterTheFactStopTheNextRequestUntilTheBucketRefills() {
    let bucket = RateBucket(perMinute: 1_000)  // 60 ms a token
    #expect(bucket.waitBeforeNextRequest(state: 0, now: start) == 0, "a full bucket")
    let state = bucket.charged(1_100, state: 0, now: start)  // 100 tokens past empty
    let wait = bucket.waitBeforeNextRequest(state: state, now: start)
    #expect(wait > 5_900_000_000 && wait <= 6_000_000_001, "100 tokens × 60 ms")
    #expect(RateBucket.seconds(wait) == 6)
    #expect(bucket.waitBeforeNextRequest(state: state, now: start + 6 * second + 1) == 0, "released once refilled")
}

@Test func spendCountsPerUTCDayAndStartsAgainTheNextDay() {
    let day: UInt64 = 20_000
    let spent = SpendToday(packed: 0).adding(2_500_000, on: day).adding(500_000, on: day)
    #expect(spent.microUSD(on: day) == 3_000_000)
    #expect(spent.microUSD(on: day + 1) == 0, "yesterday's spend does not count today")
    #expect(spent.adding(1, on: day + 1).microUSD(on: day + 1) == 1)
}

@Test func admissionChecksEachLimitAndReleasesConcurrency() {
    let usage = AgentUsage(limits: [AgentUsage.Limits(maxConcurrent: 2), AgentUsage.Limits(usdPerDay: 1.0),
                                    AgentUsage.Limits(tokensPerMinute: 600), AgentUsage.Limits(requestsPerMinute: 2),
                                    AgentUsage.Limits()])
    func admit(_ agent: Int, at now: UInt64 = start) -> AgentUsage.Refusal? {
        usage.admit(agent, now: now, utcDay: 7, secondsToMidnight: 3_600)
    }
    // max_concurrent: two in flight, the third refused, one ends, the next admitted.
    #expect(admit(0) == nil)
    #expect(admit(0) == nil)
    #expect(admit(0)?.limit == .maxConcurrent)
    #expect(usage.inFlight(0) == 2, "a refused request is not counted in flight")
    usage.exchangeEnded(0)
    #expect(admit(0) == nil)
    // usd_per_day: refused once the day's spend reaches the limit, until midnight.
    #expect(admit(1) == nil)
    usage.charge(1, tokens: 0, microUSD: 1_000_000, now: start, utcDay: 7)
    #expect(admit(1) == AgentUsage.Refusal(limit: .usdPerDay, retryAfterSeconds: 3_600))
    #expect(usage.admit(1, now: start, utcDay: 8, secondsToMidnight: 86_400) == nil, "a new day")
    // tokens_per_minute: 700 tokens used of 600: the next request waits 100 tokens' refill (10 s).
    usage.charge(2, tokens: 700, microUSD: 0, now: start, utcDay: 7)
    #expect(admit(2) == AgentUsage.Refusal(limit: .tokensPerMinute, retryAfterSeconds: 10))
    #expect(admit(2, at: start + 11 * second) == nil)
    // requests_per_minute: two, then the third waits 30 s.
    #expect(admit(3) == nil)
    #expect(admit(3) == nil)
    #expect(admit(3) == AgentUsage.Refusal(limit: .requestsPerMinute, retryAfterSeconds: 30))
    // No limits: always admitted, never counted.
    for _ in 0..<1_000 { #expect(admit(4) == nil) }
}

@Test func concurrentAdmissionsFromManyThreadsNeverPassTheLimit() async {
    let usage = AgentUsage(limits: [AgentUsage.Limits(maxConcurrent: 10, requestsPerMinute: 1_000)])
    let admitted = await withTaskGroup(of: Int.self) { group in
        for _ in 0..<8 {
            group.addTask {
                var count = 0
                for _ in 0..<500 where usage.admit(0, now: start, utcDay: 1, secondsToMidnight: 1) == nil {
                    count += 1
                    usage.exchangeEnded(0)
                }
                return count
            }
        }
        return await group.reduce(0, +)
    }
    #expect(admitted == 1_000, "the request bucket admits exactly its size, whatever the interleaving")
    #expect(usage.inFlight(0) == 0)
}
