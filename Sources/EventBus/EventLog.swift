/// The durable, ordered log the outboxes are relayed to and consumer groups read from.
///
/// Kept small on purpose: a distributed engine (Kafka, a Postgres table, NATS JetStream) needs an
/// adapter for these four operations, not a rewrite of the services.
public protocol EventLog: Sendable {
    /// Appends events in order. Appending an id that is already in the log is a no-op, so a relay
    /// that crashed after appending and before clearing its outbox cannot create duplicates.
    func append(_ events: [EventEnvelope]) async throws

    /// Up to `limit` events after `position`, in log order.
    func read(after position: Int64, limit: Int) async throws -> [StoredEvent]

    /// Takes (or renews) a group's lease for `owner`. While one owner holds it, no other process
    /// of the group consumes, so two replicas never handle the same event.
    func acquireLease(group: String, owner: String, duration: Duration) async throws -> Lease

    /// Records that the group finished everything up to `position`; false if the lease was lost.
    func commit(group: String, owner: String, position: Int64, renewFor duration: Duration) async throws -> Bool
}

/// The answer to a lease request.
public enum Lease: Sendable, Equatable {
    /// Granted; consume after `position`.
    case granted(position: Int64)
    /// Another owner holds it for this many more seconds.
    case heldByOther(owner: String, seconds: Double)
}
