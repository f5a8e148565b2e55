/// A token bucket: `burst` tokens, refilled at `perSecond`; a pure value with the clock passed in.
public struct TokenBucket: Sendable, Equatable {
    public struct Configuration: Sendable, Equatable, Hashable, Codable {
        /// Sustained rate in requests per second (> 0).
        public var perSecond: Double
        /// Bucket size: how many requests may arrive at once (>= 1).
        public var burst: Int

        public init(perSecond: Double, burst: Int) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    /// What a request learns from the bucket: whether it may pass, and the numbers for the
    /// `RateLimit-*` and `Retry-After` headers.
    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        /// `RateLimit-Limit`: the bucket size.
        public var limit: Int
        /// `RateLimit-Remaining`: whole tokens left after this request.
        public var remaining: Int
        /// `RateLimit-Reset`: whole seconds until the bucket is full again.
        public var resetSeconds: Int
        /// `Retry-After` for a refused request: whole seconds until one token is back (>= 1).
        public var retryAfterSeconds: Int
    }

    public let configuration: Configuration
    private var tokens: Double
    private var updated: ContinuousClock.Instant

    public init(configuration: Configuration, now: ContinuousClock.Instant) {
        self.configuration = configuration
        self.tokens = Double(configuration.burst)
        self.updated = now
    }

    /// Takes one token if there is one.
    public mutating func consume(now: ContinuousClock.Instant) -> Decision {
        refill(now)
        let allowed = tokens >= 1
        if allowed { tokens -= 1 }
        let missingForOne = max(0, 1 - tokens)
        let burst = Double(configuration.burst)
        return Decision(
            allowed: allowed,
            limit: configuration.burst,
            remaining: Self.wholeNumber(tokens.rounded(.down)),
            resetSeconds: Self.wholeNumber((burst - tokens) / configuration.perSecond) + (tokens < burst ? 1 : 0),
            retryAfterSeconds: max(1, Self.wholeNumber((missingForOne / configuration.perSecond).rounded(.up)))
        )
    }

    /// Takes a level decided elsewhere: the cluster's, when replicas share their limits. `level`
    /// is the bucket as of `now`, at most `burst`; below zero it is a debt (other replicas admitted
    /// more than this one knew of), which the refill pays off before another request passes.
    public mutating func adopt(level: Double, now: ContinuousClock.Instant) {
        guard level.isFinite else { return }
        tokens = min(Double(configuration.burst), level)
        if now > updated { updated = now }
    }

    /// The tokens in the bucket at `now` (a fraction while refilling, below zero in debt).
    public func level(now: ContinuousClock.Instant) -> Double {
        var copy = self
        copy.refill(now)
        return copy.tokens
    }

    /// A count for a header, from a value that a deep debt may make huge: 0 up to about 68 years
    /// of seconds, never a trap.
    static func wholeNumber(_ value: Double) -> Int {
        guard value.isFinite, value > 0 else { return 0 }
        return value >= Double(Int32.max) ? Int(Int32.max) : Int(value)
    }

    /// A bucket that is full again carries no state worth keeping.
    public func isFull(now: ContinuousClock.Instant) -> Bool {
        var copy = self
        copy.refill(now)
        return copy.tokens >= Double(configuration.burst)
    }

    private mutating func refill(_ now: ContinuousClock.Instant) {
        guard now > updated else { return }
        let elapsed = now - updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(Double(configuration.burst), tokens + seconds * configuration.perSecond)
        updated = now
    }
}
