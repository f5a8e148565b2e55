import EventBus
import Foundation
import GRDB
import Logging
import PortierTestSupport

/// Reads the event pipeline's state straight from the stack's SQLite files, so a test can wait
/// for what has happened (an event consumed, a lease taken) instead of sleeping and hoping.
extension HotelStack {
    /// A single number from `sql` on a file of the data directory (`books`, `events`, ...), read-only.
    func number(_ file: String, _ sql: String, _ arguments: StatementArguments = []) throws -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: dataDirectory + "/\(file).sqlite", configuration: configuration)
        return try queue.read { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? -1 }
    }

    /// True once every event the services have written is in the log and `group` has committed
    /// its position past all of them. From then on the group receives nothing it has not had,
    /// so counts of its effects are final: a duplicate can no longer "arrive later".
    func hasConsumedEverything(group: String) async throws -> Bool {
        for service in Service.allCases where FileManager.default.fileExists(atPath: dataDirectory + "/\(service.rawValue).sqlite") {
            guard try number(service.rawValue, "SELECT COUNT(*) FROM outbox") == 0 else { return false }
        }
        let status = try await eventLogStatus()
        let committed = status.groups.first { $0.name == group }?.position ?? 0
        return committed >= status.lastPosition
    }

    /// The pid of the process holding `group`'s lease (owners are `host:pid:nonce`), if any.
    func leaseHolderPID(group: String) async throws -> Int32? {
        let holder = try await eventLogStatus().groups.first { $0.name == group && $0.leaseSeconds > 0 }
        let parts = holder?.owner?.split(separator: ":") ?? []
        guard parts.count >= 3 else { return nil }
        return Int32(parts[parts.count - 2])
    }

    /// The shared log's status, read the way `portier events` reads it, from either engine.
    func eventLogStatus() async throws -> EventLogStatus {
        if let databaseURL {
            return try await PostgresEventLog.with(url: try PostgresURL(databaseURL), logger: Logger(label: "probe")) { try await $0.status() }
        }
        return try await SQLiteEventLog(path: dataDirectory + "/events.sqlite").status()
    }
}
