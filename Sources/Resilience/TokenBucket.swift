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
        return Decision(
            allowed: allowed,
            limit: configuration.burst,
            remaining: Int(tokens.rounded(.down)),
            resetSeconds: Int((Double(configuration.burst) - tokens) / configuration.perSecond) + (tokens < Double(configuration.burst) ? 1 : 0),
            retryAfterSeconds: max(1, Int((missingForOne / configuration.perSecond).rounded(.up)))
        )
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
