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
        let limiter = KeyedRateLimiter(configuration: .init(perSecond: 1, burst: 1))
        #expect(limiter.consume(key: "a", now: start).allowed)
        #expect(!limiter.consume(key: "a", now: start).allowed)
        #expect(limiter.consume(key: "b", now: start).allowed, "another key has its own bucket")
        _ = limiter.consume(key: "c", now: start)
        #expect(limiter.trackedKeys == 3, "draining buckets are kept")
        // Ten seconds on, every bucket is full again: the requests that follow sweep them away.
        _ = limiter.consume(key: "d", now: start + .seconds(10))
        _ = limiter.consume(key: "d", now: start + .seconds(10))
        #expect(limiter.trackedKeys == 1, "refilled buckets are swept as requests come")
        #expect(!limiter.consume(key: "d", now: start + .seconds(10)).allowed, "d's own bucket was kept")
    }

    @Test func aFloodOfDrainingKeysStaysWithinItsCapWithConstantWorkPerRequest() {
        // Every key spends its only token, so no bucket is ever full and the sweep frees nothing.
        let limiter = KeyedRateLimiter(configuration: .init(perSecond: 0.001, burst: 1), maxKeys: 400)
        #expect(limiter.consume(key: "heavy", now: start).allowed)
        for index in 0..<10_000 {
            _ = limiter.consume(key: "ip:\(index)", now: start)
        }
        #expect(limiter.examined <= 2 * 10_001, "two keys looked at per request, never the whole table: \(limiter.examined)")
        #expect(limiter.trackedKeys == 400, "the table stays at its cap: \(limiter.trackedKeys) keys")
        // Below the cap nobody's bucket starts over: a draining key stays refused.
        let small = KeyedRateLimiter(configuration: .init(perSecond: 0.001, burst: 1), maxKeys: 400)
        #expect(small.consume(key: "heavy", now: start).allowed)
        for index in 0..<300 { _ = small.consume(key: "ip:\(index)", now: start) }
        #expect(!small.consume(key: "heavy", now: start).allowed)
    }
}
