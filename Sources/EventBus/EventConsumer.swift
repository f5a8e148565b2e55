import Foundation
import Logging
import PortierTracing
import ServiceLifecycle
import Synchronization

/// Consumes the log as one member of a consumer group.
///
/// Delivery is at least once: the group's position is committed after the batch's effects. Each
/// event's effect runs in the service's own transaction together with a row in
/// `processed_events` (the ``EventSink``), so an event delivered twice (after a crash, or to a
/// replica) takes effect once. A lease in the log makes one member of the group active at a time; the others wait and
/// take over when it stops or dies.
///
/// `processed_events` rows are pruned once their event is at or below the group's committed
/// position (the group never reads it again) and older than `dedupeRetention` (no replica that
/// lost its lease can still be applying it): the table stays bounded instead of growing by one
/// row per event forever.
public struct EventConsumer: Service {
    let group: String
    let log: any EventLog
    let sink: any EventSink
    let types: Set<String>
    let logger: Logger
    let owner: String
    let pollInterval: Duration
    let batchSize: Int
    let leaseDuration: Duration
    let dedupeRetention: Duration
    /// Running totals of what this member did, for metrics.
    public let statistics = ConsumerStatistics()

    /// The consumer group this member belongs to.
    public var groupName: String { group }

    public init(
        group: String, log: any EventLog, sink: any EventSink, types: Set<String>, logger: Logger,
        pollInterval: Duration = .milliseconds(20), batchSize: Int = 256, leaseDuration: Duration = .seconds(10),
        dedupeRetention: Duration = .seconds(7 * 86_400)
    ) {
        self.group = group
        self.log = log
        self.sink = sink
        self.types = types
        self.logger = logger
        self.owner = "\(Self.hostName):\(getpid()):\(UUID().uuidString.prefix(8))"
        self.pollInterval = pollInterval
        self.batchSize = batchSize
        self.leaseDuration = leaseDuration
        self.dedupeRetention = dedupeRetention
    }

    /// A consumer whose handler runs in a service's SQLite file.
    public init(
        group: String, log: any EventLog, store: ServiceDatabase, types: Set<String>, logger: Logger,
        pollInterval: Duration = .milliseconds(20), batchSize: Int = 256, leaseDuration: Duration = .seconds(10),
        dedupeRetention: Duration = .seconds(7 * 86_400), handler: @escaping SQLiteEventSink.Handler
    ) {
        self.init(
            group: group, log: log, sink: store.sink(handler), types: types, logger: logger, pollInterval: pollInterval, batchSize: batchSize,
            leaseDuration: leaseDuration, dedupeRetention: dedupeRetention
        )
    }

    /// This machine's name, read once. Not `ProcessInfo.processInfo.hostName`: on Linux it mutates a
    /// shared `Host` without a lock, and consumers made on several threads at once corrupted the heap
    /// (a test process crashed later in an unrelated `Process.run`).
    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown-host" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }()

    public func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
        try? await log.release(group: group, owner: owner)
    }

    private func loop() async {
        var waitingLogged = false
        var failures = 0
        let wakeup = log.appendWakeup()
        while !Task.isCancelled {
            do {
                switch try await log.acquireLease(group: group, owner: owner, duration: leaseDuration) {
                case .heldByOther(let holder, let seconds):
                    if !waitingLogged {
                        logger.info("another member holds the consumer group; standing by", metadata: ["group": .string(group), "holder": .string(holder)])
                        waitingLogged = true
                    }
                    try? await Task.sleep(for: .milliseconds(Int(min(max(seconds, 0.2), 2) * 1000)))
                case .granted(let position):
                    if waitingLogged {
                        logger.info("took over the consumer group", metadata: ["group": .string(group), "position": .stringConvertible(position)])
                        waitingLogged = false
                    }
                    try await consume(from: position, wakeup: wakeup)
                }
                failures = 0
            } catch {
                if Task.isCancelled { return }  // shutting down, not a failure
                failures += 1
                statistics.retries.add(1, ordering: .relaxed)
                if failures == 1 || failures % 50 == 0 {
                    logger.error("consumer failed; retrying", metadata: ["group": .string(group), "error": .string("\(error)")])
                }
                try? await Task.sleep(for: .milliseconds(min(2000, 50 * failures)))
            }
        }
    }

    /// Consumes while the lease holds; returns to re-acquire it.
    private func consume(from start: Int64, wakeup: Wakeup?) async throws {
        var position = start
        var lastRenewal = ContinuousClock.now
        let renewEvery = leaseDuration / 3
        var lastPrune = ContinuousClock.now
        let pruneEvery = min(dedupeRetention, .seconds(600))
        while !Task.isCancelled {
            // `position` is committed here, so everything up to it may be forgotten.
            if ContinuousClock.now - lastPrune >= pruneEvery {
                lastPrune = .now
                try await prune(upTo: position)
            }
            let events = try await log.read(after: position, limit: batchSize)
            if events.isEmpty {
                if ContinuousClock.now - lastRenewal > renewEvery {
                    guard try await log.commit(group: group, owner: owner, position: position, renewFor: leaseDuration) else { return }
                    lastRenewal = .now
                }
                if let wakeup {
                    await wakeup.wait(timeout: min(log.idlePollInterval ?? pollInterval, renewEvery))
                } else {
                    try? await Task.sleep(for: pollInterval)
                }
                continue
            }
            try await apply(events)
            position = events.last?.position ?? position
            guard try await log.commit(group: group, owner: owner, position: position, renewFor: leaseDuration) else {
                logger.warning("lost the consumer group lease", metadata: ["group": .string(group)])
                return
            }
            lastRenewal = .now
            // A partial batch means the log is nearly drained: let the next batch gather first.
            if events.count < batchSize { try? await Task.sleep(for: pollInterval) }
        }
    }

    /// Forgets processed events the group has committed past and that are older than the retention.
    private func prune(upTo position: Int64) async throws {
        let cutoff = Date().timeIntervalSince1970 - Double(dedupeRetention.components.seconds)
        let pruned = try await sink.forgetProcessed(group: group, upTo: position, processedBefore: cutoff)
        if pruned > 0 {
            logger.debug("pruned processed events", metadata: ["group": .string(group), "rows": .stringConvertible(pruned)])
        }
    }

    private func apply(_ events: [StoredEvent]) async throws {
        let relevant = events.filter { types.contains($0.envelope.type) }
        guard !relevant.isEmpty else { return }
        let deadLetters = try await sink.apply(relevant, group: group)
        statistics.handled.add(relevant.count - deadLetters.count, ordering: .relaxed)
        statistics.deadLettered.add(deadLetters.count, ordering: .relaxed)
        for dead in deadLetters {
            var metadata: Logger.Metadata = ["group": .string(group), "event_id": .string(dead.eventID), "error": .string(dead.error)]
            // The event's own trace: its handling span has ended, but the line belongs to that trace.
            let created = relevant.first { $0.envelope.id == dead.eventID }?.envelope.traceParent.flatMap(TraceParent.init)
            if let created { metadata["trace_id"] = .string(created.traceID) }
            logger.error("event set aside as a dead letter", metadata: metadata)
        }
    }
}
