import Synchronization

/// One token bucket per key (client id or address), shared by all requests to a route.
///
/// Buckets that have refilled completely carry no information and are dropped, so a flood of new
/// keys cannot grow the table without bound. The sweep is spread over the requests: each looks at
/// the next two keys in turn (a full pass every half-table of requests), so no request pays for
/// the whole table. At `maxKeys` keys still draining (a flood of new addresses), a new key takes
/// the place of the key the sweep would look at next, whose bucket starts over; nobody else's does.
///
/// Replicas that share their limits (see `RateLimitSync` in the gateway) call ``takeUsage(now:)``
/// and ``adopt(levels:now:)`` at an interval: each key's bucket also counts what it admitted since
/// the last ``takeUsage(now:)``, and is set to the cluster's level less that count when the
/// cluster's answer comes back. Requests never wait for any of it.
public final class KeyedRateLimiter: Sendable {
    public let configuration: TokenBucket.Configuration

    /// What this limiter admitted for one key since the previous ``takeUsage(now:)``.
    public struct Usage: Sendable, Equatable {
        public var key: String
        public var admitted: Int

        public init(key: String, admitted: Int) {
            self.key = key
            self.admitted = admitted
        }
    }

    private struct Entry {
        var bucket: TokenBucket
        /// Requests admitted since the last ``takeUsage(now:)``: not yet in the cluster's level.
        var unsynced = 0

        /// Carries nothing that a new bucket would not: full, and nothing left to report.
        func isSpent(now: ContinuousClock.Instant, shared: Bool) -> Bool {
            (!shared || unsynced == 0) && bucket.isFull(now: now)
        }
    }

    private struct Table {
        var entries: [String: Entry] = [:]
        /// Every tracked key once, in the order the sweep visits them.
        var keys: [String] = []
        var cursor = 0
        /// Keys the sweep has looked at (for tests).
        var examined = 0
        /// Set by the first ``takeUsage(now:)``: from then on a bucket with admissions not yet
        /// reported is kept even when full, so that they reach the cluster.
        var shared = false

        /// Looks at the key under the cursor: drops it when its bucket is full, else moves on.
        mutating func sweepStep(now: ContinuousClock.Instant) {
            guard !keys.isEmpty else { return }
            if cursor >= keys.count { cursor = 0 }
            examined += 1
            if let entry = entries[keys[cursor]], !entry.isSpent(now: now, shared: shared) {
                cursor += 1
            } else {
                removeAtCursor()
            }
        }

        /// Removes the key under the cursor; the last key takes its place (looked at next).
        mutating func removeAtCursor() {
            entries[keys[cursor]] = nil
            keys.swapAt(cursor, keys.count - 1)
            keys.removeLast()
        }
    }
    private let table = Mutex(Table())
    private let maxKeys: Int

    public init(configuration: TokenBucket.Configuration, maxKeys: Int = 40_000) {
        self.configuration = configuration
        self.maxKeys = max(1, maxKeys)
    }

    /// Takes a token from `key`'s bucket. Constant work per call: two sweep steps and one lookup.
    public func consume(key: String, now: ContinuousClock.Instant = .now) -> TokenBucket.Decision {
        table.withLock { table in
            table.sweepStep(now: now)
            table.sweepStep(now: now)
            if var entry = table.entries[key] {
                let decision = entry.bucket.consume(now: now)
                if decision.allowed, entry.unsynced < Int.max { entry.unsynced += 1 }
                table.entries[key] = entry
                return decision
            }
            if table.keys.count >= maxKeys {
                if table.cursor >= table.keys.count { table.cursor = 0 }
                table.removeAtCursor()
            }
            var entry = Entry(bucket: TokenBucket(configuration: configuration, now: now))
            let decision = entry.bucket.consume(now: now)
            if decision.allowed { entry.unsynced = 1 }
            table.entries[key] = entry
            table.keys.append(key)
            return decision
        }
    }

    /// What to tell the cluster: every key with a bucket that is not full, or with admissions since
    /// the last call, and how many requests each admitted since then (often 0: the key is asked
    /// for the cluster's level only). The counts start again from 0. Full buckets with nothing to
    /// report are dropped here, so the report covers the keys in use and no more.
    public func takeUsage(now: ContinuousClock.Instant = .now) -> [Usage] {
        table.withLock { table in
            table.shared = true
            var usage: [Usage] = []
            usage.reserveCapacity(table.keys.count)
            var kept: [String] = []
            kept.reserveCapacity(table.keys.count)
            for key in table.keys {
                guard var entry = table.entries[key] else { continue }
                if entry.isSpent(now: now, shared: true) {
                    table.entries[key] = nil
                    continue
                }
                usage.append(Usage(key: key, admitted: entry.unsynced))
                entry.unsynced = 0
                table.entries[key] = entry
                kept.append(key)
            }
            table.keys = kept
            table.cursor = 0
            return usage
        }
    }

    /// Puts back usage that did not reach the cluster (the exchange failed), to go with the next
    /// report. What waits is capped at one burst per key, so a long outage does not turn into a
    /// long debt once the database is back.
    public func giveBack(_ usage: [Usage]) {
        let cap = configuration.burst
        table.withLock { table in
            for returned in usage where returned.admitted > 0 {
                guard var entry = table.entries[returned.key] else { continue }
                let waiting = entry.unsynced > Int.max - returned.admitted ? Int.max : entry.unsynced + returned.admitted
                entry.unsynced = min(waiting, max(entry.unsynced, cap))
                table.entries[returned.key] = entry
            }
        }
    }

    /// Sets each key's bucket to the cluster's level (as of the answer to the last
    /// ``takeUsage(now:)``) less what this limiter admitted for it since then, which the cluster
    /// learns at the next exchange. Keys without a bucket any more are left alone.
    public func adopt(levels: [(key: String, level: Double)], now: ContinuousClock.Instant = .now) {
        table.withLock { table in
            for (key, level) in levels {
                guard var entry = table.entries[key] else { continue }
                entry.bucket.adopt(level: level - Double(entry.unsynced), now: now)
                table.entries[key] = entry
            }
        }
    }

    /// How many keys currently have a bucket (for tests and metrics).
    public var trackedKeys: Int {
        table.withLock { $0.entries.count }
    }

    /// The tokens in `key`'s bucket (the burst when it has none), for tests.
    public func level(key: String, now: ContinuousClock.Instant = .now) -> Double {
        table.withLock { $0.entries[key]?.bucket.level(now: now) } ?? Double(configuration.burst)
    }

    /// The `count` keys that have used the most of their bucket, most used first: how many tokens
    /// each is below a full bucket. Keys whose bucket has refilled are left out.
    public func busiest(_ count: Int, now: ContinuousClock.Instant = .now) -> [(key: String, used: Double)] {
        guard count > 0 else { return [] }
        let burst = Double(configuration.burst)
        var top: [(key: String, used: Double)] = []
        table.withLock { table in
            for (key, entry) in table.entries {
                let used = burst - entry.bucket.level(now: now)
                guard used > 0.001 else { continue }
                if top.count == count, let last = top.last, last.used >= used { continue }
                let index = top.firstIndex { $0.used < used } ?? top.endIndex
                top.insert((key, used), at: index)
                if top.count > count { top.removeLast() }
            }
        }
        return top
    }

    /// How many keys the sweep has looked at (for tests).
    var examined: Int {
        table.withLock { $0.examined }
    }
}

/// A circuit breaker shared by concurrent calls.
public final class SharedCircuitBreaker: Sendable {
    private let state: Mutex<CircuitBreaker>
    public let configuration: CircuitBreaker.Configuration

    public init(configuration: CircuitBreaker.Configuration, now: ContinuousClock.Instant = .now) {
        self.configuration = configuration
        self.state = Mutex(CircuitBreaker(configuration: configuration, now: now))
    }

    public func acquire(now: ContinuousClock.Instant = .now) -> CircuitBreaker.Permission {
        state.withLock { $0.acquire(now: now) }
    }

    /// Asks to make a call, and the generation to settle it with.
    public func acquireWithGeneration(now: ContinuousClock.Instant = .now) -> (CircuitBreaker.Permission, UInt64) {
        state.withLock { breaker in (breaker.acquire(now: now), breaker.generation) }
    }

    public func record(_ outcome: CircuitBreaker.Outcome, now: ContinuousClock.Instant = .now, generation: UInt64? = nil) {
        state.withLock { $0.record(outcome, now: now, generation: generation) }
    }

    public func release(now: ContinuousClock.Instant = .now, generation: UInt64? = nil) {
        state.withLock { $0.release(now: now, generation: generation) }
    }

    public func state(now: ContinuousClock.Instant = .now) -> CircuitBreaker.State {
        state.withLock { $0.state(now: now) }
    }

    /// The state and, while open, the time to the next trial, read together.
    public func snapshot(now: ContinuousClock.Instant = .now) -> (state: CircuitBreaker.State, untilTrial: Duration?) {
        state.withLock { ($0.state(now: now), $0.untilTrial(now: now)) }
    }

    /// Runs `operation` under the breaker: refused at once while open, its outcome recorded otherwise.
    /// `isFailure` decides which results count as failures (a 5xx response, say); thrown errors always do.
    public func run<T>(
        isFailure: (T) -> Bool = { _ in false },
        _ operation: () async throws -> T
    ) async throws -> T {
        let started = ContinuousClock.now
        if case .rejected(let retryAfter) = acquire(now: started) {
            throw CircuitOpenError(retryAfterSeconds: retryAfter)
        }
        do {
            let result = try await operation()
            let elapsed = ContinuousClock.now - started
            record(isFailure(result) ? .failure(elapsed) : .success(elapsed))
            return result
        } catch {
            record(.failure(ContinuousClock.now - started))
            throw error
        }
    }
}

/// Thrown by ``SharedCircuitBreaker/run(isFailure:_:)`` while the breaker is open.
public struct CircuitOpenError: Error, Sendable, Equatable {
    public let retryAfterSeconds: Int
}
