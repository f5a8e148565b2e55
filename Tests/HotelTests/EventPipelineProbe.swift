import EventBus
import Foundation
import GRDB
import Logging
import PostgresNIO
import PortierTestSupport

/// Reads the event pipeline's state straight from the stack's stores (SQLite files, or each
/// service's schema in PostgreSQL), so a test can wait for what has happened (an event consumed, a
/// lease taken) instead of sleeping and hoping.
extension HotelStack {
    /// A single number from `sql` on a service's store (`books`, `mypages`, ...), read-only; nil
    /// when the service has no store yet (it never started).
    func storedNumber(_ service: String, _ sql: String) async throws -> Int? {
        if let databaseURL {
            let logger = Logger(label: "probe")
            return try await PostgresEventLog.with(url: try PostgresURL(databaseURL), logger: logger) { log in
                try await log.client.withConnection { connection -> Int? in
                    let schema = "portier_\(service)"
                    guard try await connection.query("SELECT to_regnamespace(\(schema)) IS NOT NULL", logger: logger).single(Bool.self) == true else {
                        return nil
                    }
                    try await connection.query("SET search_path TO \(unescaped: schema)", logger: logger)
                    return try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).single(Int64.self).map(Int.init)
                }
            }
        }
        let path = dataDirectory + "/\(service).sqlite"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        return try await queue.read { db in try Int.fetchOne(db, sql: sql) }
    }

    /// A single number from `sql` on a service's store; -1 when there is none.
    func number(_ service: String, _ sql: String) async throws -> Int {
        try await storedNumber(service, sql) ?? -1
    }

    /// True once every event the services have written is in the log and `group` has committed
    /// its position past all of them. From then on the group receives nothing it has not had,
    /// so counts of its effects are final: a duplicate can no longer "arrive later".
    func hasConsumedEverything(group: String) async throws -> Bool {
        for service in Service.allCases {
            guard try await storedNumber(service.rawValue, "SELECT COUNT(*) FROM outbox") ?? 0 == 0 else { return false }
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
