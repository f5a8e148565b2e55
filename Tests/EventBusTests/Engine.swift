import EventBus
import GRDB
import PostgresNIO
import Logging
import PortierTestSupport
import Testing

/// The two engines of the event log; tests that take one run on both.
enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// Runs `body` on a new, empty log: a file in `dir`, or a database of its own in the tests'
    /// PostgreSQL cluster (``PostgresServer``).
    func withLog<T: Sendable>(_ dir: TemporaryDirectory, _ body: @Sendable (any EventLog) async throws -> T) async throws -> T {
        try await withLog(dir) { log, _ in try await body(log) }
    }

    /// The same, also passing the arguments that point `portier events` at that log.
    func withLog<T: Sendable>(_ dir: TemporaryDirectory, _ body: @Sendable (any EventLog, [String]) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            return try await body(try SQLiteEventLog(path: dir.sub("events.sqlite")), ["--data-dir", dir.path])
        case .postgres:
            let url = try await PostgresServer.database("events")
            return try await PostgresEventLog.with(url: try PostgresURL(url), logger: Logger(label: "pg-log")) { try await body($0, ["--database", url]) }
        }
    }
}

/// A service's store with an `effects` table, on one engine, and what the bus tests do with it.
struct TestStore: Sendable {
    let bus: any ServiceStore
    /// Publishes `events` in one transaction; with `thenFail`, the transaction fails after them.
    let publish: @Sendable (_ events: [EventEnvelope], _ thenFail: Bool) async throws -> Void
    /// A consumer's sink recording each event in `effects` as handled by `name`. It throws an
    /// error of its own for event id `unprocessable`, and runs invalid SQL for `badSQL`.
    let sink: @Sendable (_ name: String, _ unprocessable: String?, _ badSQL: String?) -> any EventSink
    /// The first column of every row of a query, as text.
    let column: @Sendable (_ sql: String) async throws -> [String]

    /// A scalar query (a count) on either engine.
    func count(_ sql: String) async throws -> Int { Int(try await column("SELECT CAST((\(sql)) AS TEXT)").first ?? "") ?? -1 }
}

extension Engine {
    /// Runs `body` with a new, empty log and a service store on the same engine, as a service runs.
    func withBus<T: Sendable>(_ dir: TemporaryDirectory, _ body: @Sendable (any EventLog, TestStore) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let database = try ServiceDatabase(path: dir.sub("svc.sqlite"), source: "svc") { migrator in
                migrator.registerMigration("effects") { db in
                    try db.execute(sql: "CREATE TABLE effects (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, handled_by TEXT NOT NULL)")
                }
            }
            let store = TestStore(
                bus: database,
                publish: { events, thenFail in
                    try await database.write { db in
                        for event in events { try database.publish(event, in: db) }
                        if thenFail { throw UnprocessableEvent("the state change failed") }
                    }
                },
                sink: { name, unprocessable, badSQL in
                    database.sink { event, db in
                        if event.id == unprocessable { throw UnprocessableEvent("cannot handle \(event.id)") }
                        if event.id == badSQL { try db.execute(sql: "INSERT INTO no_such_table VALUES (1)") }
                        try db.execute(sql: "INSERT INTO effects (event_id, handled_by) VALUES (?, ?)", arguments: [event.id, name])
                    }
                },
                column: { sql in try await database.read { db in try String.fetchAll(db, sql: sql) } }
            )
            return try await withLog(dir) { log in try await body(log, store) }
        case .postgres:
            return try await withLog(dir) { log in
                guard let postgresLog = log as? PostgresEventLog else { throw UnprocessableEvent("the postgres engine made a \(type(of: log))") }
                let migrator = PostgresServiceDatabase.migrator(
                    schema: "svc",
                    migrations: [.init("effects", ["CREATE TABLE svc.effects (id bigserial PRIMARY KEY, event_id text NOT NULL, handled_by text NOT NULL)"])]
                )
                let database = PostgresServiceDatabase(log: postgresLog, migrator: migrator, source: "svc")
                let logger = database.logger
                let store = TestStore(
                    bus: database,
                    publish: { events, thenFail in
                        try await database.write { connection in
                            for event in events { try await database.publish(event, on: connection) }
                            if thenFail { throw UnprocessableEvent("the state change failed") }
                        }
                    },
                    sink: { name, unprocessable, badSQL in
                        database.sink { event, connection in
                            if event.id == unprocessable { throw UnprocessableEvent("cannot handle \(event.id)") }
                            if event.id == badSQL { try await connection.query("INSERT INTO no_such_table VALUES (1)", logger: logger) }
                            try await connection.query("INSERT INTO effects (event_id, handled_by) VALUES (\(event.id), \(name))", logger: logger)
                        }
                    },
                    column: { sql in
                        try await database.read { connection in
                            var values: [String] = []
                            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                                let cell = row.makeRandomAccess()[0]
                                if let text = try? cell.decode(String.self) { values.append(text) } else { values.append(String(try cell.decode(Int64.self))) }
                            }
                            return values
                        }
                    }
                )
                return try await body(log, store)
            }
        }
    }
}
