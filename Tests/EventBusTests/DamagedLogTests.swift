import EventBus
import Foundation
import GRDB
import PortierTestSupport
import Testing

/// The event log is a file other processes write. A row with a value of the wrong type (a damaged
/// file, a buggy or hostile writer) must come back as an error the consumer logs and retries, not
/// as a trap that kills every service reading the log.
@Suite struct DamagedLogTests {
    @Test func anEventRowOfTheWrongTypeIsAnErrorNotATrap() async throws {
        try await TemporaryDirectory.with { dir in
            let path = dir.sub("events.sqlite")
            let log = try SQLiteEventLog(path: path)
            let writer = try DatabaseQueue(path: path)
            try await writer.write { db in
                // SQLite keeps text in a REAL column when it is not a number.
                try db.execute(
                    sql:
                        "INSERT INTO events (id, type, book_id, occurred_at, source, payload) VALUES ('e1', 'Booked', 1, 'yesterday', 'books', x'7b7d')"
                )
            }
            await #expect(throws: (any Error).self) { _ = try await log.read(after: 0, limit: 10) }
        }
    }

    @Test func aConsumerGroupRowOfTheWrongTypeIsAnErrorNotATrap() async throws {
        try await TemporaryDirectory.with { dir in
            let path = dir.sub("events.sqlite")
            let log = try SQLiteEventLog(path: path)
            let writer = try DatabaseQueue(path: path)
            try await writer.write { db in
                try db.execute(sql: "INSERT INTO consumer_groups (name, position, owner, lease_until) VALUES ('rooms', 'start', 'other', 'soon')")
            }
            await #expect(throws: (any Error).self) { _ = try await log.acquireLease(group: "rooms", owner: "me", duration: .seconds(5)) }
        }
    }
}
