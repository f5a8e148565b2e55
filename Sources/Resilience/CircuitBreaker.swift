/// A circuit breaker in the style of Resilience4j: a pure state machine with the clock passed in.
///
/// Closed, it counts calls in a time-based sliding window. Once at least `minimumCalls` calls are in
/// the window and either the failure rate or the slow-call rate reaches its threshold, it opens.
/// Open, it refuses every call at once until `openDuration` has passed, then turns half-open and
/// lets `halfOpenCalls` trial calls through: if they all succeed it closes, any failure reopens it,
/// and slow trials reopen it only once they reach the slow-call rate among the trials.
///
/// Every change of phase starts a new generation. A caller that passes the generation it acquired
/// under to ``record(_:now:generation:)`` or ``release(now:generation:)`` cannot have an outcome
/// from an earlier phase counted as a half-open trial, nor free a trial slot it never held.
public struct CircuitBreaker: Sendable {
    public struct Configuration: Sendable, Equatable, Hashable, Codable {
        /// Failure rate (0-100) at which the breaker opens.
        public var failureRatePercent: Double
        /// Slow-call rate (0-100) at which the breaker opens.
        public var slowCallRatePercent: Double
        /// A call slower than this counts as slow.
        public var slowCallDuration: Duration
        /// Calls needed in the window before rates are judged.
        public var minimumCalls: Int
        /// Length of the sliding window.
        public var window: Duration
        /// How long the breaker stays open.
        public var openDuration: Duration
        /// Trial calls allowed while half-open.
        public var halfOpenCalls: Int

        public init(
            failureRatePercent: Double = 50, slowCallRatePercent: Double = 100, slowCallDuration: Duration = .seconds(2),
            minimumCalls: Int = 20, window: Duration = .seconds(10), openDuration: Duration = .seconds(5), halfOpenCalls: Int = 3
        ) {
            self.failureRatePercent = failureRatePercent
            self.slowCallRatePercent = slowCallRatePercent
            self.slowCallDuration = slowCallDuration
            self.minimumCalls = minimumCalls
            self.window = window
            self.openDuration = openDuration
            self.halfOpenCalls = halfOpenCalls
        }
    }

    public enum State: String, Sendable, Equatable {
        case closed, open, halfOpen = "half_open"
    }

    /// Whether a call may go ahead.
    public enum Permission: Sendable, Equatable {
        case permitted
        /// Refused; retry after this many whole seconds (>= 1).
        case rejected(retryAfterSeconds: Int)
    }

    /// How a permitted call ended.
    public enum Outcome: Sendable, Equatable {
        case success(Duration)
        /// A 5xx, a timeout or a connection failure.
        case failure(Duration)
    }

    /// One second of the sliding window.
    struct Bucket {
        var second: Int64
        var calls = 0
        var failures = 0
        var slow = 0
    }

    enum Phase {
        /// 0 closed, 1 open, 2 half-open: a change of kind is a new generation.
        var kind: Int {
            switch self {
            case .closed: return 0
            case .open: return 1
            case .halfOpen: return 2
            }
        }

        case closed
        case open(until: ContinuousClock.Instant)
        case halfOpen(admitted: Int, succeeded: Int, slow: Int)
    }

    public let configuration: Configuration
    private var phase: Phase = .closed {
        didSet { if phase.kind != oldValue.kind { generation &+= 1 } }
    }
    /// Counts phase changes (see the type's documentation).
    public private(set) var generation: UInt64 = 0
    private var buckets: [Bucket] = []
    private let origin: ContinuousClock.Instant

    public init(configuration: Configuration, now: ContinuousClock.Instant) {
        self.configuration = configuration
        self.origin = now
    }

    /// While open, how long until the next trial call is let through; nil otherwise.
    public func untilTrial(now: ContinuousClock.Instant) -> Duration? {
        guard case .open(let until) = phase, until > now else { return nil }
        return until - now
    }

    /// The state as of `now` (an open breaker whose time is up reports half-open).
    public func state(now: ContinuousClock.Instant) -> State {
        switch phase {
        case .closed: return .closed
        case .open(let until): return now >= until ? .halfOpen : .open
        case .halfOpen: return .halfOpen
        }
    }

    /// Asks to make a call. Every `.permitted` must be followed by exactly one ``record(_:now:)``.
    public mutating func acquire(now: ContinuousClock.Instant) -> Permission {
        switch phase {
        case .closed:
            return .permitted
        case .open(let until):
            guard now >= until else { return .rejected(retryAfterSeconds: Self.wholeSeconds(until - now)) }
            phase = .halfOpen(admitted: 1, succeeded: 0, slow: 0)
            return .permitted
        case .halfOpen(let admitted, let succeeded, let slow):
            guard admitted < configuration.halfOpenCalls else {
                return .rejected(retryAfterSeconds: 1)
            }
            phase = .halfOpen(admitted: admitted + 1, succeeded: succeeded, slow: slow)
            return .permitted
        }
    }

    /// Gives back a permit whose call ended without telling anything about the service (the
    /// caller went away). Closed or open, nothing changes; half-open, the trial slot is freed.
    public mutating func release(now: ContinuousClock.Instant, generation: UInt64? = nil) {
        if let generation, generation != self.generation { return }
        if case .halfOpen(let admitted, let succeeded, let slow) = phase, admitted > 0 {
            phase = .halfOpen(admitted: admitted - 1, succeeded: succeeded, slow: slow)
        }
    }

    /// Records how a permitted call ended and moves the breaker accordingly.
    public mutating func record(_ outcome: Outcome, now: ContinuousClock.Instant, generation: UInt64? = nil) {
        // Acquired under another phase: a call from before the breaker opened says nothing about
        // the trials now running.
        if let generation, generation != self.generation { return }
        let failed: Bool
        let duration: Duration
        switch outcome {
        case .success(let elapsed): (failed, duration) = (false, elapsed)
        case .failure(let elapsed): (failed, duration) = (true, elapsed)
        }
        let slow = duration >= configuration.slowCallDuration
        switch phase {
        case .closed:
            add(failed: failed, slow: slow, now: now)
            if shouldOpen(now: now) { trip(now) }
        case .open:
            // A call admitted before the breaker opened has finished; it changes nothing.
            break
        case .halfOpen(let admitted, let succeeded, let slowTrials):
            let slowTrials = slow ? slowTrials + 1 : slowTrials
            let slowRate = Double(slowTrials) * 100 / Double(max(1, configuration.halfOpenCalls))
            if failed || (slow && slowRate >= configuration.slowCallRatePercent) {
                trip(now)
            } else if succeeded + 1 >= configuration.halfOpenCalls {
                phase = .closed
                buckets.removeAll()
            } else {
                phase = .halfOpen(admitted: admitted, succeeded: succeeded + 1, slow: slowTrials)
            }
        }
    }

    private mutating func trip(_ now: ContinuousClock.Instant) {
        phase = .open(until: now + configuration.openDuration)
        buckets.removeAll()
    }

    private mutating func add(failed: Bool, slow: Bool, now: ContinuousClock.Instant) {
        let second = (now - origin).components.seconds
        prune(second)
        if buckets.last?.second != second { buckets.append(Bucket(second: second)) }
        buckets[buckets.count - 1].calls += 1
        if failed { buckets[buckets.count - 1].failures += 1 }
        if slow { buckets[buckets.count - 1].slow += 1 }
    }

    private mutating func prune(_ second: Int64) {
        let windowSeconds = max(1, configuration.window.components.seconds)
        buckets.removeAll { $0.second <= second - windowSeconds }
    }

    private mutating func shouldOpen(now: ContinuousClock.Instant) -> Bool {
        let calls = buckets.reduce(0) { $0 + $1.calls }
        guard calls >= configuration.minimumCalls, calls > 0 else { return false }
        let failures = buckets.reduce(0) { $0 + $1.failures }
        let slow = buckets.reduce(0) { $0 + $1.slow }
        let failureRate = Double(failures) * 100 / Double(calls)
        let slowRate = Double(slow) * 100 / Double(calls)
        return failureRate >= configuration.failureRatePercent || slowRate >= configuration.slowCallRatePercent
    }

    private static func wholeSeconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}
