import Testing
@testable import Resilience

/// What a limiter tells the cluster and takes back from it, with the clock passed in.
@Suite struct SharedRateLimitTests {
    let start = ContinuousClock.now
    let configuration = TokenBucket.Configuration(perSecond: 1, burst: 4)

    @Test func usageCountsAdmissionsSinceTheLastReportOnly() {
        let limiter = KeyedRateLimiter(configuration: configuration)
        for _ in 0..<3 { #expect(limiter.consume(key: "a", now: start).allowed) }
        #expect(limiter.consume(key: "b", now: start).allowed)
        #expect(limiter.takeUsage(now: start).sorted { $0.key < $1.key } == [.init(key: "a", admitted: 3), .init(key: "b", admitted: 1)])
        #expect(limiter.consume(key: "a", now: start).allowed)
        #expect(!limiter.consume(key: "a", now: start).allowed, "a refusal is not usage")
        #expect(limiter.takeUsage(now: start).sorted { $0.key < $1.key } == [.init(key: "a", admitted: 1), .init(key: "b", admitted: 0)])
    }

    @Test func aFullBucketWithNothingToReportIsDroppedAtTheReport() {
        let limiter = KeyedRateLimiter(configuration: configuration)
        #expect(limiter.consume(key: "a", now: start).allowed)
        #expect(limiter.takeUsage(now: start) == [.init(key: "a", admitted: 1)])
        // One second on it is full again and has reported everything: it carries nothing.
        #expect(limiter.takeUsage(now: start + .seconds(1)) == [])
        #expect(limiter.trackedKeys == 0)
    }

    @Test func onceSharedAFullBucketIsKeptUntilItsAdmissionsAreReported() {
        // 1000/s refills a token in a millisecond: without this, the sweep would drop the bucket
        // (and its count) before the next exchange, and the cluster would never hear of it.
        let limiter = KeyedRateLimiter(configuration: .init(perSecond: 1000, burst: 1))
        _ = limiter.takeUsage(now: start)
        #expect(limiter.consume(key: "a", now: start).allowed)
        for index in 0..<10 { _ = limiter.consume(key: "other\(index)", now: start + .seconds(1)) }
        #expect(limiter.takeUsage(now: start + .seconds(1)).contains(.init(key: "a", admitted: 1)))
    }

    @Test func usageThatDidNotReachTheClusterWaitsForTheNextReportUpToABurst() {
        let limiter = KeyedRateLimiter(configuration: configuration)
        for _ in 0..<3 { _ = limiter.consume(key: "a", now: start) }
        let failed = limiter.takeUsage(now: start)
        #expect(limiter.consume(key: "a", now: start).allowed)
        limiter.giveBack(failed)
        #expect(limiter.takeUsage(now: start) == [.init(key: "a", admitted: 4)], "the three from the failed exchange and the one since")
        // An outage: every report fails and is given back; what waits stops growing at the burst.
        for _ in 0..<5 {
            _ = limiter.consume(key: "a", now: start + .seconds(10))
            limiter.giveBack(limiter.takeUsage(now: start + .seconds(10)))
        }
        #expect(limiter.takeUsage(now: start + .seconds(10)) == [.init(key: "a", admitted: 4)])
    }

    @Test func adoptingTheClustersLevelKeepsWhatWasAdmittedSince() {
        let limiter = KeyedRateLimiter(configuration: configuration)
        #expect(limiter.consume(key: "a", now: start).allowed)
        _ = limiter.takeUsage(now: start)
        #expect(limiter.consume(key: "a", now: start).allowed, "admitted while the exchange is under way")
        // The cluster says: 0.5 tokens left (other replicas spent the rest).
        limiter.adopt(levels: [("a", 0.5), ("unknown", 0)], now: start)
        #expect(limiter.level(key: "a", now: start) == -0.5, "the cluster's level less the one admitted since")
        #expect(!limiter.consume(key: "a", now: start + .milliseconds(1400)).allowed, "a debt is paid off by the refill first")
        #expect(limiter.consume(key: "a", now: start + .milliseconds(1600)).allowed)
        #expect(limiter.trackedKeys == 1, "adopting creates no bucket for a key this replica does not track")
    }

    @Test func aDebtNeverMakesNegativeOrHugeHeaders() {
        var bucket = TokenBucket(configuration: .init(perSecond: 0.001, burst: 10_000_000), now: start)
        bucket.adopt(level: -1e300, now: start)
        let refused = bucket.consume(now: start)
        #expect(!refused.allowed && refused.remaining == 0)
        #expect(refused.retryAfterSeconds == Int(Int32.max) && refused.resetSeconds > 0)
        bucket.adopt(level: .nan, now: start)
        #expect(bucket.level(now: start) == -1e300, "a level that is not a number is ignored")
        bucket.adopt(level: 1e300, now: start)
        #expect(bucket.level(now: start) == 10_000_000, "never above the burst")
    }

    // MARK: - The bound, under any schedule

    /// The cluster's bucket as the gateway's SQL keeps it (`RateLimitStore`): refilled by the
    /// database's clock, charged at each push; a missing row is a full bucket; full rows expire.
    struct ModelDatabase {
        let burst: Double
        let perSecond: Double
        var rows: [String: (tokens: Double, updated: Double)] = [:]

        mutating func exchange(key: String, admitted: Int, at time: Double) -> Double {
            guard let row = rows[key] else {
                if admitted > 0 { rows[key] = (burst - Double(admitted), time) }
                return burst - Double(admitted)
            }
            let level = min(burst, row.tokens + max(0, time - row.updated) * perSecond)
            guard admitted > 0 else { return level }
            rows[key] = (level - Double(admitted), max(row.updated, time))
            return level - Double(admitted)
        }

        mutating func expire(at time: Double) {
            rows = rows.filter { _, row in !(time - row.updated > 1 && row.tokens + (time - row.updated) * perSecond >= burst) }
        }
    }

    /// A deterministic generator, so a failing schedule can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct Scenario {
        var replicas: Int
        var burst: Int
        var perSecond: Double
        /// The sync interval and the longest round trip.
        var interval: Double
        var latency: Double
        var requests: [(time: Double, replica: Int, key: String)]

        /// How long an admission can stay unknown to another replica: pushed at the next round
        /// (within one period plus a round trip), read by the other's round after that.
        var staleness: Double { 2 * (max(interval, latency) + latency) }

        /// The README's bound for a span of `seconds`.
        func bound(_ seconds: Double) -> Double {
            Double(burst) + perSecond * seconds + Double(replicas - 1) * (Double(burst) + perSecond * staleness)
        }
    }

    static func scenario(_ random: inout SplitMix) -> Scenario {
        let replicas = Int.random(in: 2...4, using: &random)
        let burst = Int.random(in: 1...12, using: &random)
        let perSecond = Double.random(in: 0.5...40, using: &random)
        let interval = Double.random(in: 0.02...0.3, using: &random)
        let latency = Double.random(in: 0.0005...(interval * 1.5), using: &random)
        let keys = Bool.random(using: &random) ? ["k"] : ["k", "j"]
        var requests: [(Double, Int, String)] = []
        var time = 0.0
        let offered = perSecond * Double.random(in: 0.5...6, using: &random)
        while time < 4 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0:
                // A burst on every replica at once: the case the bound is made of.
                for replica in 0..<replicas {
                    for _ in 0..<Int.random(in: 1...(burst + 2), using: &random) {
                        requests.append((time, replica, keys.randomElement(using: &random) ?? "k"))
                    }
                }
            case 1:
                time += Double.random(in: 0...(Double(burst) / perSecond + 1), using: &random)  // idle: buckets refill and are dropped
            default:
                requests.append((time, Int.random(in: 0..<replicas, using: &random), keys.randomElement(using: &random) ?? "k"))
            }
            time += Double.random(in: 0...(2 / offered), using: &random)
        }
        return Scenario(replicas: replicas, burst: burst, perSecond: perSecond, interval: interval, latency: latency, requests: requests)
    }

    /// Runs the replicas over the scenario: each takes its usage every interval (at a random
    /// phase), the database applies it somewhere within the round trip, and the replica adopts the
    /// answer later in it. Returns the admission times per key.
    func simulate(_ scenario: Scenario, sharing: Bool, random: inout SplitMix) -> [String: [Double]] {
        struct Round {
            var usage: [KeyedRateLimiter.Usage]
            var applyAt: Double
            var adoptAt: Double
            var levels: [(key: String, level: Double)]?
        }
        let bucket = TokenBucket.Configuration(perSecond: scenario.perSecond, burst: scenario.burst)
        let limiters = (0..<scenario.replicas).map { _ in KeyedRateLimiter(configuration: bucket) }
        var nextRound = (0..<scenario.replicas).map { _ in Double.random(in: 0..<scenario.interval, using: &random) }
        var rounds: [Round?] = Array(repeating: nil, count: scenario.replicas)
        var database = ModelDatabase(burst: Double(scenario.burst), perSecond: scenario.perSecond)
        var admitted: [String: [Double]] = [:]
        var next = 0
        let end = (scenario.requests.last?.time ?? 0) + 1
        func instant(_ time: Double) -> ContinuousClock.Instant { start + .nanoseconds(Int64(time * 1e9)) }

        while true {
            // The earliest thing to happen: a request, or a step of some replica's round.
            var when = next < scenario.requests.count ? scenario.requests[next].time : Double.infinity
            var who = -1
            if sharing {
                for replica in 0..<scenario.replicas {
                    let time = rounds[replica].map { $0.levels == nil ? $0.applyAt : $0.adoptAt } ?? nextRound[replica]
                    if time < when { (when, who) = (time, replica) }
                }
            }
            if when > end { break }
            if who < 0 {
                let request = scenario.requests[next]
                next += 1
                if limiters[request.replica].consume(key: request.key, now: instant(request.time)).allowed {
                    admitted[request.key, default: []].append(request.time)
                }
            } else if var round = rounds[who] {
                if round.levels == nil {
                    round.levels = round.usage.map { ($0.key, database.exchange(key: $0.key, admitted: $0.admitted, at: when)) }
                    if Int.random(in: 0..<4, using: &random) == 0 { database.expire(at: when) }
                    rounds[who] = round
                } else {
                    limiters[who].adopt(levels: round.levels ?? [], now: instant(when))
                    rounds[who] = nil
                    nextRound[who] = max(nextRound[who], when)
                }
            } else {
                let applyAt = when + Double.random(in: 0...scenario.latency, using: &random)
                let adoptAt = applyAt + Double.random(in: 0...(when + scenario.latency - applyAt), using: &random)
                rounds[who] = Round(usage: limiters[who].takeUsage(now: instant(when)), applyAt: applyAt, adoptAt: adoptAt)
                nextRound[who] = when + scenario.interval
            }
        }
        return admitted
    }

    /// The largest excess over the bound in any span between two admissions (<= 0: within it).
    static func worstExcess(_ times: [Double], _ scenario: Scenario) -> Double {
        var worst = -Double.infinity
        for first in times.indices {
            for last in first..<times.count {
                worst = max(worst, Double(last - first + 1) - scenario.bound(times[last] - times[first]))
            }
        }
        return worst
    }

    @Test func theClusterAdmitsWithinTheBoundWhateverTheSchedule() {
        var random = SplitMix(state: 0x706F_7274_6965_72)
        var exceededWithoutSharing = 0
        for index in 0..<400 {
            let scenario = Self.scenario(&random)
            var replay = random
            for (key, times) in simulate(scenario, sharing: true, random: &random) {
                let excess = Self.worstExcess(times, scenario)
                #expect(excess <= 1e-9, "scenario \(index), key \(key): \(excess) over the bound")
            }
            // The same requests without sharing: each replica has the whole limit to itself.
            if simulate(scenario, sharing: false, random: &replay).values.contains(where: { Self.worstExcess($0, scenario) > 1e-9 }) {
                exceededWithoutSharing += 1
            }
        }
        #expect(exceededWithoutSharing >= 50, "the check can fail: without sharing \(exceededWithoutSharing) of 400 schedules break the bound")
    }
}
