/// The durable, ordered log the outboxes are relayed to and consumer groups read from.
///
/// Two engines implement it: ``SQLiteEventLog`` (one file, the processes of one machine) and
/// ``PostgresEventLog`` (any number of processes on any number of machines).
public protocol EventLog: Sendable {
    /// Appends events in order. Appending an id that is already in the log is a no-op, so a relay
    /// that crashed after appending and before clearing its outbox cannot create duplicates.
    ///
    /// Once `read(after: p)` has returned an event at position `p`, no event at a position below
    /// `p` can appear later: a consumer that remembers the last position it saw misses nothing.
    func append(_ events: [EventEnvelope]) async throws

    /// Up to `limit` events after `position`, in log order.
    func read(after position: Int64, limit: Int) async throws -> [StoredEvent]

    /// Takes (or renews) a group's lease for `owner`. While one owner holds it, no other process
    /// of the group consumes, so two replicas never handle the same event.
    func acquireLease(group: String, owner: String, duration: Duration) async throws -> Lease

    /// Records that the group finished everything up to `position`; false if the lease was lost.
    func commit(group: String, owner: String, position: Int64, renewFor duration: Duration) async throws -> Bool

    /// Gives the lease up (graceful shutdown), so a replica can take over at once.
    func release(group: String, owner: String) async throws

    /// A group's committed position; 0 for a group that never consumed.
    func position(of group: String) async throws -> Int64

    /// Sets a group back (or forward) to `position` and ends its current lease, so its active
    /// member re-reads from there at its next batch. Creates the group when it does not exist.
    func rewind(group: String, to position: Int64) async throws

    /// Deletes the events that every consumer group has consumed and that occurred before
    /// `cutoff` (seconds since 1970); returns how many. With no group at all nothing is deleted.
    func prune(occurredBefore cutoff: Double, batch: Int) async throws -> Int

    /// The log's extent and each group's position, lag and lease.
    func status() async throws -> EventLogStatus

    /// Throws unless the log can be read right now (for readiness probes).
    func ping() async throws

    /// A wake-up that the log signals whenever events may have been appended, for a consumer to
    /// wait on instead of polling; nil when the engine cannot tell (then consumers poll).
    func appendWakeup() -> Wakeup?

    /// How long a consumer with a wake-up waits before it looks anyway (a lost signal costs this
    /// much latency, never an event).
    var idlePollInterval: Duration? { get }
}

extension EventLog {
    public func appendWakeup() -> Wakeup? { nil }
    public var idlePollInterval: Duration? { nil }
}

/// The answer to a lease request.
public enum Lease: Sendable, Equatable {
    /// Granted; consume after `position`.
    case granted(position: Int64)
    /// Another owner holds it for this many more seconds.
    case heldByOther(owner: String, seconds: Double)
}

/// What `portier events` shows: the log's extent and each group's position, lag and lease.
public struct EventLogStatus: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var name: String
        public var position: Int64
        /// Positions appended after the group's position (an upper bound on the events it has
        /// still to read: an append that a duplicate id turned into a no-op leaves a gap).
        public var lag: Int64
        public var owner: String?
        /// Seconds until the lease runs out; 0 or less when nobody holds it.
        public var leaseSeconds: Double

        public init(name: String, position: Int64, lag: Int64, owner: String?, leaseSeconds: Double) {
            self.name = name
            self.position = position
            self.lag = lag
            self.owner = owner
            self.leaseSeconds = leaseSeconds
        }
    }

    /// The position of the last event ever appended (0 for an empty log).
    public var lastPosition: Int64
    /// The oldest event still in the log, nil when it is empty.
    public var oldestPosition: Int64?
    public var oldestOccurredAt: Double?
    public var retained: Int64
    public var groups: [Group]

    public init(lastPosition: Int64, oldestPosition: Int64?, oldestOccurredAt: Double?, retained: Int64, groups: [Group]) {
        self.lastPosition = lastPosition
        self.oldestPosition = oldestPosition
        self.oldestOccurredAt = oldestOccurredAt
        self.retained = retained
        self.groups = groups
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
