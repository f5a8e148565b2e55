import Foundation
import GRDB

/// The embedded default: one SQLite file (`<data-dir>/events.sqlite`) in WAL mode, shared by the
/// processes on one machine.
public struct SQLiteEventLog: EventLog {
    let pool: DatabasePool

    public init(path: String) throws {
        pool = try DatabasePool.openShared(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        type TEXT NOT NULL,
                        book_id INTEGER,
                        occurred_at REAL NOT NULL,
                        source TEXT NOT NULL,
                        payload BLOB NOT NULL
                    );
                    CREATE TABLE consumer_groups (
                        name TEXT PRIMARY KEY NOT NULL,
                        position INTEGER NOT NULL DEFAULT 0,
                        owner TEXT,
                        lease_until REAL NOT NULL DEFAULT 0
                    );
                    """
            )
        }
        // The context each event was created in, copied from the outbox as it was written.
        migrator.registerMigration("v2-log-trace") { db in
            try db.execute(sql: "ALTER TABLE events ADD COLUMN traceparent TEXT; ALTER TABLE events ADD COLUMN tracestate TEXT")
        }
        try migrator.migrateShared(pool)
    }

    public func append(_ events: [EventEnvelope]) async throws {
        guard !events.isEmpty else { return }
        try await pool.write { db in
            let statement = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO events (id, type, book_id, occurred_at, source, payload, traceparent, tracestate) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            )
            for event in events {
                try statement.execute(arguments: [
                    event.id, event.type, event.bookID, event.occurredAt, event.source, event.payload, event.traceParent, event.traceState,
                ])
            }
        }
    }

    public func read(after position: Int64, limit: Int) async throws -> [StoredEvent] {
        try await pool.read { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT position, id, type, book_id, occurred_at, source, payload, traceparent, tracestate
                    FROM events WHERE position > ? ORDER BY position LIMIT ?
                    """
            )
            // Another process wrote these rows: a value of the wrong type is an error, not a trap.
            return try Row.fetchAll(statement, arguments: [position, limit]).map { row in
                StoredEvent(
                    position: try row.decode(forColumn: "position"),
                    envelope: EventEnvelope(
                        id: try row.decode(forColumn: "id"), type: try row.decode(forColumn: "type"), occurredAt: try row.decode(forColumn: "occurred_at"),
                        bookID: try row.decode(forColumn: "book_id"), source: try row.decode(forColumn: "source"), payload: try row.decode(forColumn: "payload"),
                        traceParent: try row.decode(forColumn: "traceparent"), traceState: try row.decode(forColumn: "tracestate")
                    )
                )
            }
        }
    }

    public func acquireLease(group: String, owner: String, duration: Duration) async throws -> Lease {
        let now = Date().timeIntervalSince1970
        let until = now + duration.seconds
        return try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT position, owner, lease_until FROM consumer_groups WHERE name = ?", arguments: [group]) else {
                try db.execute(sql: "INSERT INTO consumer_groups (name, position, owner, lease_until) VALUES (?, 0, ?, ?)", arguments: [group, owner, until])
                return .granted(position: 0)
            }
            let holder: String? = try row.decode(forColumn: "owner")
            let leaseUntil: Double = try row.decode(forColumn: "lease_until")
            if holder == owner || holder == nil || leaseUntil < now {
                try db.execute(sql: "UPDATE consumer_groups SET owner = ?, lease_until = ? WHERE name = ?", arguments: [owner, until, group])
                return .granted(position: try row.decode(forColumn: "position"))
            }
            return .heldByOther(owner: holder ?? "?", seconds: leaseUntil - now)
        }
    }

    public func commit(group: String, owner: String, position: Int64, renewFor duration: Duration) async throws -> Bool {
        let until = Date().timeIntervalSince1970 + duration.seconds
        return try await pool.write { db in
            try db.execute(
                sql: "UPDATE consumer_groups SET position = MAX(position, ?), lease_until = ? WHERE name = ? AND owner = ?",
                arguments: [position, until, group, owner]
            )
            return db.changesCount == 1
        }
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    public func release(group: String, owner: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE consumer_groups SET owner = NULL, lease_until = 0 WHERE name = ? AND owner = ?", arguments: [group, owner])
        }
    }

    public func position(of group: String) async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT position FROM consumer_groups WHERE name = ?", arguments: [group]) ?? 0
        }
    }

    /// With no group at all nothing is deleted, and the slowest group holds back everything after its position. Positions are never reused
    /// (AUTOINCREMENT), so a group's position stays meaningful after a prune.
    ///
    /// The log de-duplicates appends by event id only while the id is retained: a relay retrying
    /// an event older than the retention would append it again. Relays retry within seconds.
    ///
    /// Deletes in transactions of at most `batch` events, so a first prune of a large log does not
    /// hold the shared file's write lock (and every relay appending to it) for long.
    public func rewind(group: String, to position: Int64) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO consumer_groups (name, position, owner, lease_until) VALUES (?, ?, NULL, 0)
                    ON CONFLICT (name) DO UPDATE SET position = excluded.position, owner = NULL, lease_until = 0
                    """,
                arguments: [group, max(0, position)]
            )
        }
    }

    public func prune(occurredBefore cutoff: Double, batch: Int = 1000) async throws -> Int {
        var total = 0
        while true {
            let deleted = try await pool.write { db in
                try db.execute(
                    sql: """
                        DELETE FROM events WHERE position IN (
                            SELECT position FROM events
                            WHERE occurred_at < ? AND position <= (SELECT MIN(position) FROM consumer_groups)
                            ORDER BY position LIMIT ?)
                        """,
                    arguments: [cutoff, max(1, batch)]
                )
                return db.changesCount
            }
            total += deleted
            if deleted < max(1, batch) { return total }
        }
    }

    public func status() async throws -> EventLogStatus {
        let now = Date().timeIntervalSince1970
        return try await pool.read { db in
            // sqlite_sequence keeps the last position even when every event was pruned.
            let last = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'") ?? 0
            let oldest = try Row.fetchOne(db, sql: "SELECT position, occurred_at FROM events ORDER BY position LIMIT 1")
            let retained = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0
            let groups = try Row.fetchAll(db, sql: "SELECT name, position, owner, lease_until FROM consumer_groups ORDER BY name").map { row in
                let position: Int64 = try row.decode(forColumn: "position")
                let owner: String? = try row.decode(forColumn: "owner")
                let leaseUntil: Double = try row.decode(forColumn: "lease_until")
                return EventLogStatus.Group(
                    name: try row.decode(forColumn: "name"), position: position, lag: max(0, last - position), owner: owner,
                    leaseSeconds: owner == nil ? 0 : leaseUntil - now
                )
            }
            return EventLogStatus(
                lastPosition: last, oldestPosition: try oldest?.decode(forColumn: "position"),
                oldestOccurredAt: try oldest?.decode(forColumn: "occurred_at"), retained: retained, groups: groups
            )
        }
    }

}

extension Configuration {
    /// Settings for SQLite files several processes write: WAL (GRDB's DatabasePool), waiting up to
    /// 30 s for another writer, and NORMAL sync, which in WAL mode survives a process crash and
    /// syncs at checkpoints.
    static var shared: Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        return configuration
    }
}

extension DatabasePool {
    /// Opens a file that other processes may be opening at the same moment. Turning a new file to
    /// WAL takes a lock that the busy timeout does not wait for, so a busy open is tried again.
    static func openShared(path: String, attempts: Int = 20) throws -> DatabasePool {
        var attempt = 1
        while true {
            do {
                return try DatabasePool(path: path, configuration: .shared)
            } catch let error as DatabaseError where attempt < attempts && [.SQLITE_BUSY, .SQLITE_LOCKED].contains(error.resultCode) {
                Thread.sleep(forTimeInterval: 0.005 * Double(attempt))
                attempt += 1
            }
        }
    }
}

extension DatabaseMigrator {
    /// Migrates a file that other processes may be migrating at the same moment (the services
    /// share events.sqlite; replicas share their service's file). The loser of that race fails on
    /// a table the winner just created; its next attempt sees the winner's migrations as applied.
    func migrateShared(_ pool: DatabasePool, attempts: Int = 5) throws {
        var attempt = 1
        while true {
            do {
                try migrate(pool)
                return
            } catch let error as DatabaseError where attempt < attempts && [.SQLITE_ERROR, .SQLITE_BUSY].contains(error.resultCode) {
                attempt += 1
            }
        }
    }
}
