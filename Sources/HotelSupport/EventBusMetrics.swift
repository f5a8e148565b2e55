import EventBus
import Logging
import PortierHTTP
import Prometheus

/// The series that explain a service's part of the event-driven system, read at scrape time from
/// the store, the log and the consumers, so they are never stale and cost nothing between scrapes:
///
/// - `portier_<service>_outbox_events`: events committed but not yet relayed to the log;
/// - `portier_<service>_events_relayed_total`: events this process moved from its outbox to the log;
/// - `portier_<service>_consumer_lag_events{group}`: events appended to the log after the group's
///   position, for every group of the shared log (a stopped consumer's lag shows in the others' scrapes);
/// - `portier_<service>_events_handled_total{group,outcome}`: handled by this process, `processed` or `dead_lettered`;
/// - `portier_<service>_dead_letter_events{group}`: dead letters kept in the service's database;
/// - `portier_<service>_consumer_retries_total{group}`: batches that failed and were tried again.
///
/// Groups are the services' consumers (a fixed set, plus any an operator creates with
/// `portier events replay --create`), so every label stays bounded.
enum EventBusMetrics {
    /// Made where used: descriptors are not `Sendable`, and the groups are only known at scrape time.
    static func lagName(_ metrics: ProcessMetrics) -> MetricNameDescriptor {
        metrics.descriptor("consumer_lag", unit: "events", help: "Events appended to the log after the consumer group's position")
    }

    static func track(
        store: any ServiceStore, log: any EventLog, relays: [OutboxRelay], consumers: [EventConsumer], metrics: ProcessMetrics, logger: Logger
    ) {
        let relayed = metrics.registry.makeCounter(
            descriptor: metrics.descriptor("events_relayed", unit: "total", help: "Events moved from the outbox to the event log by this process")
        )
        let outbox = metrics.registry.makeGauge(
            descriptor: metrics.descriptor("outbox", unit: "events", help: "Events committed but not yet relayed to the event log"))
        let handledName = metrics.descriptor("events_handled", unit: "total", help: "Events handled by this process's consumers, by outcome")
        let deadName = metrics.descriptor("dead_letter", unit: "events", help: "Dead letters kept in the service's database, by consumer group")
        let retriesName = metrics.descriptor("consumer_retries", unit: "total", help: "Consumer batches that failed and were tried again")
        struct GroupSeries: Sendable {
            var consumer: EventConsumer
            var processed: Counter
            var deadLettered: Counter
            var dead: Gauge
            var retries: Counter
        }
        let groups = consumers.map { consumer in
            let group = [("group", consumer.groupName)]
            return GroupSeries(
                consumer: consumer,
                processed: metrics.registry.makeCounter(descriptor: handledName, labels: group + [("outcome", "processed")]),
                deadLettered: metrics.registry.makeCounter(descriptor: handledName, labels: group + [("outcome", "dead_lettered")]),
                dead: metrics.registry.makeGauge(descriptor: deadName, labels: group),
                retries: metrics.registry.makeCounter(descriptor: retriesName, labels: group)
            )
        }
        metrics.onScrape {
            metrics.mirror(relayed, total: Int64(relays.reduce(0) { $0 + $1.statistics.relayed.load(ordering: .relaxed) }))
            for series in groups {
                let statistics = series.consumer.statistics
                metrics.mirror(series.processed, total: Int64(statistics.handled.load(ordering: .relaxed)))
                metrics.mirror(series.deadLettered, total: Int64(statistics.deadLettered.load(ordering: .relaxed)))
                metrics.mirror(series.retries, total: Int64(statistics.retries.load(ordering: .relaxed)))
            }
            // A database that does not answer leaves the last values (the readiness probe says why).
            do {
                let depth = try await Deadline.run(.seconds(2)) { try await store.outboxCount() }
                outbox.set(Double(depth))
                let status = try await Deadline.run(.seconds(2)) { try await log.status() }
                var lags = Dictionary(status.groups.map { ($0.name, $0.lag) }, uniquingKeysWith: { first, _ in first })
                // This service's groups that never committed yet have everything still to read.
                for series in groups where lags[series.consumer.groupName] == nil { lags[series.consumer.groupName] = status.lastPosition }
                for (group, lag) in lags {
                    metrics.registry.makeGauge(descriptor: lagName(metrics), labels: [("group", group)]).set(Double(max(0, lag)))
                }
                guard !groups.isEmpty else { return }
                let dead = try await Deadline.run(.seconds(2)) { try await store.deadLetterCounts() }
                for series in groups {
                    series.dead.set(Double(dead[series.consumer.groupName] ?? 0))
                }
            } catch {
                logger.warning("metrics: cannot read the outbox or the event log", metadata: ["error": .string("\(error)")])
            }
        }
    }
}
