import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Moves committed outbox rows to the event log, oldest first, then deletes them.
///
/// Appending is idempotent by event id, so a crash between the append and the delete only means
/// the same events are appended again, which the log ignores: nothing is lost, nothing doubles.
public struct OutboxRelay: Service {
    let store: any ServiceStore
    let log: any EventLog
    let logger: Logger
    let batchSize: Int
    let idleWait: Duration
    /// After a wake-up, how long to let more commits gather before relaying: under load this turns
    /// one small transaction per event into one per batch.
    let gatherWindow: Duration
    /// Events this relay moved to the log since it started, for metrics.
    public let statistics = RelayStatistics()

    public init(
        store: any ServiceStore, log: any EventLog, logger: Logger, batchSize: Int = 500, idleWait: Duration = .milliseconds(250),
        gatherWindow: Duration = .milliseconds(5)
    ) {
        self.store = store
        self.log = log
        self.logger = logger
        self.batchSize = batchSize
        self.idleWait = idleWait
        self.gatherWindow = gatherWindow
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                do {
                    let moved = try await relayOnce()
                    failures = 0
                    if moved < batchSize {
                        await store.relayWakeup.wait(timeout: idleWait)
                        try? await Task.sleep(for: gatherWindow)
                    }
                } catch {
                    failures += 1
                    if failures == 1 || failures % 50 == 0 {
                        logger.error("outbox relay failed; retrying", metadata: ["error": .string("\(error)")])
                    }
                    try? await Task.sleep(for: .milliseconds(min(2000, 50 * failures)))
                }
            }
        }
        // Whatever committed before shutdown still goes out.
        _ = try? await relayOnce()
    }

    /// Relays one batch; returns how many events moved.
    @discardableResult
    public func relayOnce() async throws -> Int {
        let batch = try await store.outboxBatch(limit: batchSize)
        guard !batch.isEmpty else { return 0 }
        try await log.append(batch.map(\.event))
        try await store.removeRelayed(batch)
        statistics.relayed.add(batch.count, ordering: .relaxed)
        return batch.count
    }
}
