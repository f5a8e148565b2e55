/// The bus's part of a service's own store: the outbox that ``OutboxRelay`` empties into the
/// log. A service's records, its outbox rows and its consumers' de-duplication records live in
/// one database, so a state change and the events it publishes commit together.
///
/// Two engines implement it: ``ServiceDatabase`` (a SQLite file) and ``PostgresServiceDatabase``
/// (a schema of its own in PostgreSQL).
public protocol ServiceStore: Sendable {
    /// The publishing service's name, written into every event.
    var source: String { get }
    /// Signalled after every commit that may have published events.
    var relayWakeup: Wakeup { get }
    /// Up to `limit` outbox rows, oldest first.
    func outboxBatch(limit: Int) async throws -> [OutboxEntry]
    /// Deletes rows the relay appended to the log.
    func removeRelayed(_ entries: [OutboxEntry]) async throws
    /// Events waiting in the outbox (0 once the relay caught up).
    func outboxCount() async throws -> Int
    /// Dead letters kept, by consumer group (groups without any are absent), for metrics.
    func deadLetterCounts() async throws -> [String: Int]
    /// Throws unless the store can be read right now (for readiness probes).
    func ping() async throws
}

/// One event waiting in a service's outbox.
public struct OutboxEntry: Sendable {
    public var seq: Int64
    public var event: EventEnvelope

    public init(seq: Int64, event: EventEnvelope) {
        self.seq = seq
        self.event = event
    }
}

/// Where a consumer group's events take effect: the service's store, in its own transactions.
///
/// Each event's effect commits together with a record that the group processed it, so an event
/// delivered twice (after a crash, or to a replica that took over) takes effect once. An event
/// whose handler fails for a reason of its own (not a busy or unreachable database) is set aside
/// as a dead letter and the rest go on.
public protocol EventSink: Sendable {
    /// Applies `events` in order, in one transaction; returns the ones set aside.
    func apply(_ events: [StoredEvent], group: String) async throws -> [DeadLetter]
    /// Forgets processed-event records of `group` at or below `position` and processed before
    /// `cutoff` (seconds since 1970), in chunks; returns how many.
    func forgetProcessed(group: String, upTo position: Int64, processedBefore cutoff: Double) async throws -> Int
}

/// An event a handler could not apply, and why.
public struct DeadLetter: Sendable, Equatable {
    public var eventID: String
    public var error: String

    public init(eventID: String, error: String) {
        self.eventID = eventID
        self.error = error
    }
}
