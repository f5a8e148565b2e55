import Testing
@testable import Resilience

/// The bucket with the clock passed in: no sleeps, exact numbers.
@Suite struct TokenBucketTests {
    let start = ContinuousClock.now
    let configuration = TokenBucket.Configuration(perSecond: 2, burst: 4)

    @Test func allowsABurstThenRefuses() {
        var bucket = TokenBucket(configuration: configuration, now: start)
        for remaining in [3, 2, 1, 0] {
            let decision = bucket.consume(now: start)
            #expect(decision.allowed && decision.remaining == remaining && decision.limit == 4)
        }
        let refused = bucket.consume(now: start)
        #expect(!refused.allowed)
        #expect(refused.retryAfterSeconds == 1, "half a second to the next token rounds up to 1")
        #expect(refused.resetSeconds == 3, "two seconds to refill four tokens, rounded up and one more")
    }

    @Test func refillsAtTheConfiguredRateUpToTheBurst() {
        var bucket = TokenBucket(configuration: configuration, now: start)
        for _ in 0..<4 { _ = bucket.consume(now: start) }
        #expect(!bucket.consume(now: start + .milliseconds(400)).allowed)
        #expect(bucket.consume(now: start + .milliseconds(500)).allowed, "one token after 0.5 s at 2/s")
        #expect(!bucket.consume(now: start + .milliseconds(500)).allowed)
        let later = bucket.consume(now: start + .seconds(60))
        #expect(later.allowed && later.remaining == 3, "never more than the burst")
        #expect(bucket.isFull(now: start + .seconds(61)))
    }

    @Test func slowRatesGiveLongRetryAfters() {
        var bucket = TokenBucket(configuration: .init(perSecond: 0.1, burst: 1), now: start)
        #expect(bucket.consume(now: start).allowed)
        #expect(bucket.consume(now: start).retryAfterSeconds == 10)
    }

    @Test func keyedLimiterKeepsKeysApartAndSweepsFullBuckets() {
        let limiter = KeyedRateLimiter(configuration: .init(perSecond: 1, burst: 1), sweepThreshold: 3)
        #expect(limiter.consume(key: "a", now: start).allowed)
        #expect(!limiter.consume(key: "a", now: start).allowed)
        #expect(limiter.consume(key: "b", now: start).allowed, "another key has its own bucket")
        _ = limiter.consume(key: "c", now: start)
        #expect(limiter.trackedKeys == 3)
        _ = limiter.consume(key: "d", now: start + .seconds(10))
        #expect(limiter.trackedKeys == 1, "refilled buckets are swept once the table is full")
    }

    @Test func aFloodOfDrainingKeysNeitherSweepsEveryRequestNorGrowsWithoutBound() {
        // Every key spends its only token, so no bucket is ever full and a sweep frees nothing.
        let limiter = KeyedRateLimiter(configuration: .init(perSecond: 0.001, burst: 1), sweepThreshold: 100)
        for index in 0..<10_000 {
            _ = limiter.consume(key: "ip:\(index)", now: start)
        }
        // Sweeping on every request past the threshold would be 9,900 sweeps of 100+ keys each.
        #expect(limiter.sweeps <= 10_000 / 100, "a sweep only after the table doubled: \(limiter.sweeps) sweeps for 10,000 keys")
        #expect(limiter.trackedKeys <= 4 * 100, "the table stays within its hard cap: \(limiter.trackedKeys) keys")
    }
}
