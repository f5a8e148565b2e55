/// Slows down guessing of client secrets: a pure state machine with the clock passed in.
///
/// - An address with `maxFailuresPerAddress` failures within `window` is locked out for `lockout`:
///   every authentication attempt from it gets 429, whatever it sends.
/// - A client id with `maxFailuresPerClient` failures within `window` is locked for `lockout`, but
///   only for addresses that have not authenticated as that client before. So an attacker guessing
///   `hotel-client`'s secret is stopped, while the real `hotel-client` keeps getting tokens.
/// - A check is reserved (``reserve(clientID:address:now:)``) in the same step that decides it may
///   run, and settled afterwards: attempts still in flight count against the limits, so 50
///   concurrent guesses cannot all slip past the check while the slow hash runs.
public struct BruteForceGuard: Sendable {
    public struct Policy: Sendable, Equatable {
        public var maxFailuresPerClient: Int
        public var maxFailuresPerAddress: Int
        public var window: Duration
        public var lockout: Duration
        /// How long a successful address stays trusted for its client id.
        public var knownAddressMemory: Duration

        public init(
            maxFailuresPerClient: Int = 5, maxFailuresPerAddress: Int = 10, window: Duration = .seconds(60),
            lockout: Duration = .seconds(60), knownAddressMemory: Duration = .seconds(86_400)
        ) {
            self.maxFailuresPerClient = maxFailuresPerClient
            self.maxFailuresPerAddress = maxFailuresPerAddress
            self.window = window
            self.lockout = lockout
            self.knownAddressMemory = knownAddressMemory
        }
    }

    public enum Decision: Equatable, Sendable {
        case allow
        /// Refuse with 429; `retryAfter` is whole seconds, at least 1.
        case throttle(retryAfter: Int)
    }

    /// A granted attempt, to be handed back to ``settle(_:success:now:)`` exactly once.
    public struct Ticket: Sendable, Equatable {
        let clientID: String?
        let address: String
        /// Whether the attempt holds in-flight slots (attempts from an address known for the client do not).
        let holdsSlots: Bool
    }

    public enum Reservation: Equatable, Sendable {
        case granted(Ticket)
        /// Refuse with 429; `retryAfter` is whole seconds, at least 1.
        case throttle(retryAfter: Int)
    }

    struct Counter {
        var failures: [ContinuousClock.Instant] = []
        var lockedUntil: ContinuousClock.Instant?
        /// Granted attempts not settled yet.
        var inFlight = 0
    }

    public let policy: Policy
    private var clients: [String: Counter] = [:]
    private var addresses: [String: Counter] = [:]
    private var known: [String: [String: ContinuousClock.Instant]] = [:]
    /// Entries are swept when the tables grow past this size, so a flood of made-up ids cannot exhaust memory.
    private let sweepThreshold = 10_000

    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    /// Whether an attempt may be checked at all.
    public func check(clientID: String?, address: String, now: ContinuousClock.Instant) -> Decision {
        if let until = addresses[address]?.lockedUntil, until > now {
            return .throttle(retryAfter: Self.seconds(until - now))
        }
        if let clientID, let until = clients[clientID]?.lockedUntil, until > now, !isKnown(clientID, address, now) {
            return .throttle(retryAfter: Self.seconds(until - now))
        }
        return .allow
    }

    /// Decides whether an attempt may run and, if so, counts it as in flight, in one step.
    ///
    /// An attempt from an address that authenticated as this client before is only subject to the
    /// lockouts; any other attempt also needs a free slot: recent failures plus attempts in flight
    /// must stay below both limits. So at most `maxFailuresPerClient` unsettled guesses can ever be
    /// checked for one client before its lock applies.
    public mutating func reserve(clientID: String?, address: String, now: ContinuousClock.Instant) -> Reservation {
        if case .throttle(let retryAfter) = check(clientID: clientID, address: address, now: now) {
            return .throttle(retryAfter: retryAfter)
        }
        if let clientID, isKnown(clientID, address, now) {
            return .granted(Ticket(clientID: clientID, address: address, holdsSlots: false))
        }
        if let counter = addresses[address], Self.used(counter, policy: policy, now: now) >= policy.maxFailuresPerAddress {
            return .throttle(retryAfter: 1)
        }
        if let clientID, let counter = clients[clientID], Self.used(counter, policy: policy, now: now) >= policy.maxFailuresPerClient {
            return .throttle(retryAfter: 1)
        }
        if clients.count + addresses.count > sweepThreshold { sweep(now) }
        addresses[address, default: Counter()].inFlight += 1
        if let clientID { clients[clientID, default: Counter()].inFlight += 1 }
        return .granted(Ticket(clientID: clientID, address: address, holdsSlots: true))
    }

    /// Ends a granted attempt: frees its slots and records the outcome.
    public mutating func settle(_ ticket: Ticket, success: Bool, now: ContinuousClock.Instant) {
        release(ticket)
        if success, let clientID = ticket.clientID {
            recordSuccess(clientID: clientID, address: ticket.address, now: now)
        } else if !success {
            recordFailure(clientID: ticket.clientID, address: ticket.address, now: now)
        }
    }

    /// Ends a granted attempt without an outcome (the server failed, not the client).
    public mutating func release(_ ticket: Ticket) {
        guard ticket.holdsSlots else { return }
        Self.release(&addresses[ticket.address])
        if let clientID = ticket.clientID { Self.release(&clients[clientID]) }
    }

    private static func release(_ counter: inout Counter?) {
        guard var value = counter else { return }
        value.inFlight = max(0, value.inFlight - 1)
        counter = value
    }

    /// Failures within the window plus attempts in flight.
    private static func used(_ counter: Counter, policy: Policy, now: ContinuousClock.Instant) -> Int {
        counter.failures.reduce(0) { $0 + (now - $1 < policy.window ? 1 : 0) } + counter.inFlight
    }

    public mutating func recordFailure(clientID: String?, address: String, now: ContinuousClock.Instant) {
        if clients.count + addresses.count > sweepThreshold { sweep(now) }
        Self.count(&addresses[address, default: Counter()], limit: policy.maxFailuresPerAddress, policy: policy, now: now)
        if let clientID {
            Self.count(&clients[clientID, default: Counter()], limit: policy.maxFailuresPerClient, policy: policy, now: now)
        }
    }

    public mutating func recordSuccess(clientID: String, address: String, now: ContinuousClock.Instant) {
        var addresses = known[clientID, default: [:]]
        if addresses.count >= 64, addresses[address] == nil, let oldest = addresses.min(by: { $0.value < $1.value })?.key {
            addresses[oldest] = nil
        }
        addresses[address] = now
        known[clientID] = addresses
    }

    private func isKnown(_ clientID: String, _ address: String, _ now: ContinuousClock.Instant) -> Bool {
        guard let seen = known[clientID]?[address] else { return false }
        return now - seen < policy.knownAddressMemory
    }

    private static func count(_ counter: inout Counter, limit: Int, policy: Policy, now: ContinuousClock.Instant) {
        counter.failures.removeAll { now - $0 >= policy.window }
        counter.failures.append(now)
        if counter.failures.count >= limit {
            counter.lockedUntil = now + policy.lockout
            counter.failures.removeAll()
        }
    }

    private mutating func sweep(_ now: ContinuousClock.Instant) {
        func stale(_ counter: Counter) -> Bool {
            counter.inFlight == 0 && (counter.lockedUntil.map { $0 <= now } ?? true) && counter.failures.allSatisfy { now - $0 >= policy.window }
        }
        clients = clients.filter { !stale($0.value) }
        addresses = addresses.filter { !stale($0.value) }
    }

    private static func seconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}

/// A failed client authentication, as the replicas of the token server tell each other.
public struct AuthFailure: Sendable, Equatable {
    public var clientID: String?
    public var address: String

    public init(clientID: String?, address: String) {
        self.clientID = clientID
        self.address = address
    }
}
