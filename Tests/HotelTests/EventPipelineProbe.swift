import Foundation
import GRDB
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
    func hasConsumedEverything(group: String) throws -> Bool {
        for service in Service.allCases where FileManager.default.fileExists(atPath: dataDirectory + "/\(service.rawValue).sqlite") {
            guard try number(service.rawValue, "SELECT COUNT(*) FROM outbox") == 0 else { return false }
        }
        let head = try number("events", "SELECT COALESCE(MAX(position), 0) FROM events")
        let committed = try number("events", "SELECT position FROM consumer_groups WHERE name = ?", [group])
        return committed >= head
    }

    /// The pid of the process holding `group`'s lease (owners are `host:pid:nonce`), if any.
    func leaseHolderPID(group: String) throws -> Int32? {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: dataDirectory + "/events.sqlite", configuration: configuration)
        let owner = try queue.read { db in
            try String.fetchOne(db, sql: "SELECT owner FROM consumer_groups WHERE name = ? AND lease_until > ?", arguments: [group, Date().timeIntervalSince1970])
        }
        let parts = owner?.split(separator: ":") ?? []
        guard parts.count >= 3 else { return nil }
        return Int32(parts[parts.count - 2])
    }
}
