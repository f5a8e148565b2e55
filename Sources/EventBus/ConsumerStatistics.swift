import Synchronization

/// What one ``EventConsumer`` did since it started, as plain atomics (this module knows nothing of
/// Prometheus): the hotel services publish them as `portier_<service>_events_handled_total` and
/// `portier_<service>_consumer_retries_total`.
public final class ConsumerStatistics: Sendable {
    /// Events of the group's types whose handler ran to the end (a redelivered one counts again,
    /// though its effect happened once).
    public let handled = Atomic<Int>(0)
    /// Events whose handler failed for good and that were set aside as dead letters.
    public let deadLettered = Atomic<Int>(0)
    /// Times a batch failed (database busy, log unreachable, lease lost to an error) and was tried again.
    public let retries = Atomic<Int>(0)

    public init() {}
}

/// What one ``OutboxRelay`` did since it started: published as `portier_<service>_events_relayed_total`.
public final class RelayStatistics: Sendable {
    /// Events moved from the outbox to the log (a batch appended again after a crash counts again).
    public let relayed = Atomic<Int>(0)

    public init() {}
}
