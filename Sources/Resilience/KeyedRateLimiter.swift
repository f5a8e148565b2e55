import Synchronization

/// One token bucket per key (client id or address), shared by all requests to a route.
///
/// Buckets that have refilled completely carry no information and are swept, so a flood of new
/// keys cannot grow the table without bound. A sweep runs only once the table has doubled since the
/// last one, so its cost is constant per request on average even when a flood leaves nothing to
/// sweep; once four times the threshold of keys are still draining, the table starts over.
public final class KeyedRateLimiter: Sendable {
    public let configuration: TokenBucket.Configuration
    private struct Table {
        var buckets: [String: TokenBucket] = [:]
        var sweepAt: Int
        var sweeps = 0
    }
    private let table: Mutex<Table>
    private let sweepThreshold: Int

    public init(configuration: TokenBucket.Configuration, sweepThreshold: Int = 10_000) {
        self.configuration = configuration
        self.sweepThreshold = max(1, sweepThreshold)
        self.table = Mutex(Table(sweepAt: max(1, sweepThreshold)))
    }

    /// Takes a token from `key`'s bucket.
    public func consume(key: String, now: ContinuousClock.Instant = .now) -> TokenBucket.Decision {
        table.withLock { table in
            if table.buckets.count >= table.sweepAt {
                table.buckets = table.buckets.filter { !$0.value.isFull(now: now) }
                table.sweeps += 1
                if table.buckets.count >= 4 * sweepThreshold {
                    // Four times the threshold of keys still draining: a flood of addresses. Their
                    // buckets start over rather than memory growing further.
                    table.buckets.removeAll(keepingCapacity: true)
                }
                table.sweepAt = max(sweepThreshold, 2 * table.buckets.count)
            }
            var bucket = table.buckets[key] ?? TokenBucket(configuration: configuration, now: now)
            let decision = bucket.consume(now: now)
            table.buckets[key] = bucket
            return decision
        }
    }

    /// How many keys currently have a bucket (for tests and metrics).
    public var trackedKeys: Int {
        table.withLock { $0.buckets.count }
    }

    /// How many sweeps have run (for tests).
    var sweeps: Int {
        table.withLock { $0.sweeps }
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
