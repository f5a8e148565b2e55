import Foundation
import GRDB
import PortierTelemetry

/// A consumer's handler applied in a service's SQLite file: a batch in one write transaction,
/// each event in a savepoint with its `processed_events` row, so one bad event is set aside
/// without undoing the others.
public struct SQLiteEventSink: EventSink {
    public typealias Handler = @Sendable (EventEnvelope, Database) throws -> Void

    let store: ServiceDatabase
    let handler: Handler

    /// Failures that may go away by themselves; any other failure of a handler is the event's fault.
    static func isTransient(_ error: DatabaseError) -> Bool {
        [.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_CANTOPEN, .SQLITE_NOMEM, .SQLITE_INTERRUPT, .SQLITE_PROTOCOL]
            .contains(error.resultCode)
    }

    public func apply(_ events: [StoredEvent], group: String) async throws -> [DeadLetter] {
        let handler = self.handler
        return try await store.write { db -> [DeadLetter] in
            var deadLettered: [DeadLetter] = []
            let mark = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO processed_events (event_id, consumer_group, position, processed_at) VALUES (?, ?, ?, ?)"
            )
            for event in events {
                let now = Date().timeIntervalSince1970
                do {
                    try db.inSavepoint {
                        try mark.execute(arguments: [event.envelope.id, group, event.position, now])
                        guard db.changesCount == 1 else { return .commit }  // seen before: its effect already happened
                        try EventTracing.process(event, group: group) { try handler(event.envelope, db) }
                        return .commit
                    }
                } catch let error as DatabaseError where Self.isTransient(error) {
                    throw error  // busy, locked, I/O, full disk: retry the whole batch later
                } catch {
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO dead_letters (event_id, consumer_group, type, error, payload, failed_at) VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: [event.envelope.id, group, event.envelope.type, "\(error)", event.envelope.payload, now]
                    )
                    try mark.execute(arguments: [event.envelope.id, group, event.position, now])
                    deadLettered.append(DeadLetter(eventID: event.envelope.id, error: "\(error)"))
                }
            }
            return deadLettered
        }
    }

    /// In chunks, oldest first, so writers never wait for one long delete.
    public func forgetProcessed(group: String, upTo position: Int64, processedBefore cutoff: Double) async throws -> Int {
        var forgotten = 0
        while !Task.isCancelled {
            let chunk = try await store.write { db -> Int in
                try db.execute(
                    sql: """
                        DELETE FROM processed_events WHERE rowid IN (
                            SELECT rowid FROM processed_events WHERE consumer_group = ? AND position <= ? AND processed_at <= ?
                            ORDER BY rowid LIMIT 5000)
                        """,
                    arguments: [group, position, cutoff]
                )
                return db.changesCount
            }
            forgotten += chunk
            if chunk < 5000 { break }
        }
        return forgotten
    }
}
