import Foundation
import GRDB
import PortierTelemetry
import Tracing

/// A service's own SQLite file, with the transactional outbox and the consumer de-duplication
/// table beside its domain tables. A state change and the events it publishes commit together.
public final class ServiceDatabase: ServiceStore {
    public let pool: DatabasePool
    /// The publishing service's name, written into every event.
    public let source: String
    public let relayWakeup = Wakeup()

    /// Opens (creating if needed) the file and runs the bus migrations, then the service's own.
    public init(path: String, source: String, migrations: (inout DatabaseMigrator) -> Void) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: nil
        )
        pool = try DatabasePool.openShared(path: path)
        self.source = source
        var migrator = DatabaseMigrator()
        migrator.registerMigration("bus-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE outbox (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        type TEXT NOT NULL,
                        book_id INTEGER,
                        occurred_at REAL NOT NULL,
                        payload BLOB NOT NULL
                    );
                    CREATE TABLE processed_events (
                        event_id TEXT PRIMARY KEY NOT NULL,
                        consumer_group TEXT NOT NULL,
                        position INTEGER NOT NULL,
                        processed_at REAL NOT NULL
                    );
                    CREATE TABLE dead_letters (
                        event_id TEXT PRIMARY KEY NOT NULL,
                        consumer_group TEXT NOT NULL,
                        type TEXT NOT NULL,
                        error TEXT NOT NULL,
                        payload BLOB NOT NULL,
                        failed_at REAL NOT NULL
                    );
                    """
            )
        }
        // The context each event was created in (nullable: rows written before, or outside a trace).
        migrator.registerMigration("bus-v2-trace") { db in
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN traceparent TEXT; ALTER TABLE outbox ADD COLUMN tracestate TEXT")
        }
        migrations(&migrator)
        try migrator.migrateShared(pool)
    }

    /// Runs a write transaction; events published inside it reach the relay right after commit.
    /// If `body` throws, nothing it did stays.
    ///
    /// GRDB runs `body` on its own thread: the caller's trace context is bound there again, so
    /// events published and lines logged inside belong to the caller's trace.
    public func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        let context = ServiceContext.current
        let result = try await pool.write { db in try ServiceContext.$current.withValue(context) { try body(db) } }
        relayWakeup.signal()
        return result
    }

    public func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read(body)
    }

    /// Adds an event to the outbox inside the caller's transaction, with the trace context it is
    /// created in.
    public func publish(_ event: EventEnvelope, in db: Database) throws {
        let trace = event.creationContext
        try db.cachedStatement(sql: "INSERT INTO outbox (id, type, book_id, occurred_at, payload, traceparent, tracestate) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [event.id, event.type, event.bookID, event.occurredAt, event.payload, trace.traceParent, trace.traceState])
    }

    /// Events waiting in the outbox (0 once the relay caught up).
    public func outboxCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") ?? 0 }
    }

    public func deadLetterCounts() async throws -> [String: Int] {
        try await pool.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT consumer_group, COUNT(*) FROM dead_letters GROUP BY consumer_group") {
                let group: String = row[0]
                let count: Int = row[1]
                counts[group] = count
            }
            return counts
        }
    }

    public func outboxBatch(limit: Int) async throws -> [OutboxEntry] {
        let source = self.source
        return try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, id, type, book_id, occurred_at, payload, traceparent, tracestate FROM outbox ORDER BY seq LIMIT ?", arguments: [limit]).map {
                row in
                OutboxEntry(
                    seq: try row.decode(forColumn: "seq"),
                    event: EventEnvelope(
                        id: try row.decode(forColumn: "id"), type: try row.decode(forColumn: "type"), occurredAt: try row.decode(forColumn: "occurred_at"),
                        bookID: try row.decode(forColumn: "book_id"), source: source, payload: try row.decode(forColumn: "payload"),
                        traceParent: try row.decode(forColumn: "traceparent"), traceState: try row.decode(forColumn: "tracestate")
                    )
                )
            }
        }
    }

    /// SQLite runs one write transaction at a time, so outbox rows commit in `seq` order and
    /// everything up to the last relayed row was in the batch.
    public func removeRelayed(_ entries: [OutboxEntry]) async throws {
        guard let last = entries.last?.seq else { return }
        try await pool.write { db in try db.execute(sql: "DELETE FROM outbox WHERE seq <= ?", arguments: [last]) }
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// One page of `table`'s rows whose `column` equals `value`, newest (by `order`) first, and how
    /// many rows match. Table and column names are code constants, never input.
    public func page<Record: Sendable>(
        of table: String, where column: String, equals value: Int64, newestFirstBy order: String, size: Int, offset: Int,
        _ decode: @escaping @Sendable (Row) throws -> Record
    ) async throws -> (records: [Record], total: Int) {
        try await pool.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) WHERE \(column) = ?", arguments: [value]) ?? 0
            let records = try Row.fetchAll(
                db, sql: "SELECT * FROM \(table) WHERE \(column) = ? ORDER BY \(order) DESC LIMIT ? OFFSET ?", arguments: [value, size, offset]
            ).map(decode)
            return (records, total)
        }
    }

    /// Where a consumer's handler applies events: this file, in GRDB transactions.
    public func sink(_ handler: @escaping SQLiteEventSink.Handler) -> SQLiteEventSink {
        SQLiteEventSink(store: self, handler: handler)
    }
}
