import Foundation
import Logging
import ServiceLifecycle

/// Keeps the shared event log from growing forever: at start and then every `interval`, deletes
/// the events every consumer group has consumed that are older than `age` (7 days by default).
/// Every hotel service runs one; the deletes of several processes simply find less to do.
public struct EventLogRetention: Service {
    public static let defaultAge: Duration = .seconds(7 * 86_400)

    let log: any EventLog
    let age: Duration
    let interval: Duration
    let logger: Logger

    public init(log: any EventLog, age: Duration = Self.defaultAge, interval: Duration = .seconds(3600), logger: Logger) {
        self.log = log
        self.age = age
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        // Graceful shutdown cancels the sleep; that is a normal end, not a failure of the service.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await pruneOnce()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One pass; returns how many events went. A failure is logged and tried again next time.
    @discardableResult
    public func pruneOnce() async -> Int {
        let cutoff = Date().timeIntervalSince1970 - age.seconds
        do {
            let pruned = try await log.prune(occurredBefore: cutoff, batch: 1000)
            if pruned > 0 {
                logger.info("pruned consumed events from the log", metadata: ["events": .stringConvertible(pruned), "older_than_s": .stringConvertible(Int(age.seconds))])
            }
            return pruned
        } catch {
            logger.error("cannot prune the event log", metadata: ["error": .string("\(error)")])
            return 0
        }
    }
}
