import Synchronization

/// One token bucket per key (client id or address), shared by all requests to a route.
///
/// Buckets that have refilled completely carry no information and are dropped, so a flood of new
/// keys cannot grow the table without bound. The sweep is spread over the requests: each looks at
/// the next two keys in turn (a full pass every half-table of requests), so no request pays for
/// the whole table. At `maxKeys` keys still draining (a flood of new addresses), a new key takes
/// the place of the key the sweep would look at next, whose bucket starts over; nobody else's does.
public final class KeyedRateLimiter: Sendable {
    public let configuration: TokenBucket.Configuration
    private struct Table {
        var buckets: [String: TokenBucket] = [:]
        /// Every tracked key once, in the order the sweep visits them.
        var keys: [String] = []
        var cursor = 0
        /// Keys the sweep has looked at (for tests).
        var examined = 0

        /// Looks at the key under the cursor: drops it when its bucket is full, else moves on.
        mutating func sweepStep(now: ContinuousClock.Instant) {
            guard !keys.isEmpty else { return }
            if cursor >= keys.count { cursor = 0 }
            examined += 1
            if let bucket = buckets[keys[cursor]], !bucket.isFull(now: now) {
                cursor += 1
            } else {
                removeAtCursor()
            }
        }

        /// Removes the key under the cursor; the last key takes its place (looked at next).
        mutating func removeAtCursor() {
            buckets[keys[cursor]] = nil
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
            if var bucket = table.buckets[key] {
                let decision = bucket.consume(now: now)
                table.buckets[key] = bucket
                return decision
            }
            if table.keys.count >= maxKeys {
                if table.cursor >= table.keys.count { table.cursor = 0 }
                table.removeAtCursor()
            }
            var bucket = TokenBucket(configuration: configuration, now: now)
            let decision = bucket.consume(now: now)
            table.buckets[key] = bucket
            table.keys.append(key)
            return decision
        }
    }

    /// How many keys currently have a bucket (for tests and metrics).
    public var trackedKeys: Int {
        table.withLock { $0.buckets.count }
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
