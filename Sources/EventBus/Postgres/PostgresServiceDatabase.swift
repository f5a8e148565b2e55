import Foundation
import Logging
import PortierTelemetry
import PostgresNIO
import Synchronization

/// A service's own store in PostgreSQL: a schema of its own (so services stay independently
/// owned) holding its records, its outbox, and its consumers' processed-event and dead-letter
/// records. It shares the process's connection pool with the ``PostgresEventLog``.
///
/// Every statement runs with the schema as its `search_path` (set when the pool connects, or
/// else at the start of each operation), so a service's SQL names its tables without the schema.
///
/// **Outbox order.** Outbox rows of concurrent transactions may commit out of `seq` order, and
/// that is fine here, unlike in the log: the relay keeps no position. It reads whatever has
/// committed, oldest first, and deletes exactly the rows it appended, so a row that commits late
/// goes out with a later batch instead of being passed over. Causal order holds: a transaction
/// that starts after another committed takes a higher `seq` and is read no earlier, provided it
/// publishes after taking the row locks it may wait on, so publish last in a transaction. (A lock held
/// to commit, as the log's appends take, would serialise every publishing transaction of the
/// service on its commit's disk flush: it capped books at about 160 bookings/s here.)
public final class PostgresServiceDatabase: ServiceStore {
    public let source: String
    public let schema: String
    public let relayWakeup = Wakeup()
    let log: PostgresEventLog
    let migrator: PostgresMigrator
    /// For the queries a service runs in ``write`` and ``read``.
    public var logger: Logger { log.logger }
    private let migrated = Atomic<Bool>(false)
    /// False while the database is not answering (see ``perform(_:_:)``).
    private let answering = Atomic<Bool>(true)

    /// Whether the log's own schema is migrated before this one (not for a store that only
    /// shares the log's connection pool, such as the token server's).
    let usesLog: Bool

    /// `migrator` comes from ``migrator(schema:migrations:bus:)``.
    public init(log: PostgresEventLog, migrator: PostgresMigrator, source: String, usesLog: Bool = true) {
        self.log = log
        self.schema = migrator.schema
        self.source = source
        self.migrator = migrator
        self.usesLog = usesLog
    }

    /// A schema's migrator: with `bus`, the bus's tables (outbox, processed events, dead
    /// letters) first, then the service's own.
    public static func migrator(schema: String, migrations: [PostgresMigrator.Migration], bus: Bool = true) -> PostgresMigrator {
        PostgresMigrator(schema: schema, migrations: (bus ? busMigrations(schema) : []) + migrations)
    }

    static func busMigrations(_ schema: String) -> [PostgresMigrator.Migration] {
        [
            .init(
                "bus-v1",
                [
                    """
                    CREATE TABLE \(schema).outbox (
                        seq bigserial PRIMARY KEY,
                        id text NOT NULL UNIQUE,
                        type text NOT NULL,
                        book_id bigint,
                        occurred_at double precision NOT NULL,
                        payload bytea NOT NULL
                    )
                    """,
                    """
                    CREATE TABLE \(schema).processed_events (
                        event_id text PRIMARY KEY,
                        consumer_group text NOT NULL,
                        position bigint NOT NULL,
                        processed_at double precision NOT NULL
                    )
                    """,
                    "CREATE INDEX processed_events_group ON \(schema).processed_events (consumer_group, position)",
                    """
                    CREATE TABLE \(schema).dead_letters (
                        event_id text PRIMARY KEY,
                        consumer_group text NOT NULL,
                        type text NOT NULL,
                        error text NOT NULL,
                        payload bytea NOT NULL,
                        failed_at double precision NOT NULL
                    )
                    """,
                ]
            ),
            // The context each event was created in (NULL for rows written before, or outside a trace).
            .init("bus-v2-trace", ["ALTER TABLE \(schema).outbox ADD COLUMN traceparent text, ADD COLUMN tracestate text"]),
        ]
    }

    /// Creates or upgrades the schema; every operation runs it until it has succeeded once.
    public func migrate() async throws {
        if migrated.load(ordering: .acquiring) { return }
        if usesLog { try await log.migrate() }
        let migrator = self.migrator
        _ = try await log.run("migrating schema \(schema)", within: PostgresEventLog.migrationTimeout) { [log] in
            try await migrator.migrate(log.client, logger: log.logger)
        }
        migrated.store(true, ordering: .releasing)
    }

    /// Runs `body` in a transaction; events it publishes reach the relay right after commit. If
    /// `body` throws, nothing it did stays, and its own error comes out unchanged; a failure of
    /// the database comes out as a ``PostgresFailure``.
    @discardableResult
    public func write<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await migrate()
        let result = try await perform("a transaction in \(schema)") { [log, schema] in
            try await log.client.withTransaction(logger: log.logger) { connection in
                if log.searchPath != schema { try await connection.query("SET LOCAL search_path TO \(unescaped: schema)", logger: log.logger) }
                return try await body(connection)
            }
        }
        relayWakeup.signal()
        return result
    }

    /// Runs `body` on a connection outside any explicit transaction (each statement sees the
    /// latest commits).
    @discardableResult
    public func read<T: Sendable>(within limit: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await migrate()
        return try await perform("reading \(schema)", within: limit) { [log, schema] in
            try await log.client.withConnection { connection in
                if log.searchPath != schema { try await connection.query("SET search_path TO \(unescaped: schema)", logger: log.logger) }
                return try await body(connection)
            }
        }
    }

    /// Adds an event to the outbox inside the caller's transaction (see the type's note on order).
    public func publish(_ event: EventEnvelope, on connection: PostgresConnection) async throws {
        let logger = log.logger
        let trace = event.creationContext
        try await connection.query(
            """
            INSERT INTO outbox (id, type, book_id, occurred_at, payload, traceparent, tracestate)
            VALUES (\(event.id), \(event.type), \(event.bookID), \(event.occurredAt), \(ByteBuffer(bytes: event.payload)),
                    \(trace.traceParent), \(trace.traceState))
            """,
            logger: logger
        )
    }

    public func outboxBatch(limit: Int) async throws -> [OutboxEntry] {
        let limit = max(1, limit)
        let source = self.source
        return try await read { [log] connection in
            var entries: [OutboxEntry] = []
            let rows = try await connection.query(
                "SELECT seq, id, type, book_id, occurred_at, payload, traceparent, tracestate FROM outbox ORDER BY seq LIMIT \(limit)",
                logger: log.logger
            )
            for try await (seq, id, type, bookID, occurredAt, payload, traceParent, traceState) in rows.decode(
                (Int64, String, String, Int64?, Double, ByteBuffer, String?, String?).self
            ) {
                entries.append(
                    OutboxEntry(
                        seq: seq,
                        event: EventEnvelope(
                            id: id, type: type, occurredAt: occurredAt, bookID: bookID, source: source, payload: Data(payload.readableBytesView),
                            traceParent: traceParent, traceState: traceState
                        )
                    )
                )
            }
            return entries
        }
    }

    /// By `seq`, not "up to the last": replicas of a service relay the same outbox, and each
    /// deletes exactly what it appended.
    public func removeRelayed(_ entries: [OutboxEntry]) async throws {
        guard !entries.isEmpty else { return }
        let seqs = entries.map(\.seq)
        try await read { [log] connection in
            try await connection.query("DELETE FROM outbox WHERE seq = ANY(\(seqs)::int8[])", logger: log.logger)
        }
    }

    public func outboxCount() async throws -> Int {
        try await read { [log] connection in
            for try await count in try await connection.query("SELECT count(*)::int8 FROM outbox", logger: log.logger).decode(Int64.self) {
                return Int(count)
            }
            return 0
        }
    }

    public func deadLetterCounts() async throws -> [String: Int] {
        try await read { [log] connection in
            var counts: [String: Int] = [:]
            let rows = try await connection.query("SELECT consumer_group, count(*)::int8 FROM dead_letters GROUP BY consumer_group", logger: log.logger)
            for try await (group, count) in rows.decode((String, Int64).self) {
                counts[group] = Int(clamping: count)
            }
            return counts
        }
    }

    /// Within 1.5 s (readiness probes give up after 2): a probe that times out has learnt the
    /// database is not answering, which shortens every operation's deadline until it answers.
    public func ping() async throws {
        try await read(within: .milliseconds(1500)) { [log] connection in
            for try await _ in try await connection.query("SELECT 1", logger: log.logger) {}
        }
    }

    /// One page of `table`'s rows whose `column` equals `value`, newest (by `order`) first, and how
    /// many rows match. Table and column names are code constants, never input.
    public func page<Record: PostgresRecord & Sendable>(
        of table: String, where column: String, equals value: Int64, newestFirstBy order: String, size: Int, offset: Int
    ) async throws -> (records: [Record], total: Int) {
        try await read { [log] connection in
            let total = try await connection.query(
                "SELECT count(*)::int8 FROM \(unescaped: table) WHERE \(unescaped: column) = \(value)", logger: log.logger
            ).single(Int64.self) ?? 0
            let records = try await Record.all(
                try await connection.query(
                    """
                    SELECT * FROM \(unescaped: table) WHERE \(unescaped: column) = \(value)
                    ORDER BY \(unescaped: order) DESC LIMIT \(Int64(size)) OFFSET \(Int64(offset))
                    """,
                    logger: log.logger
                )
            )
            return (records, Int(total))
        }
    }

    /// Where a consumer's handler applies events: this schema, in one transaction per batch.
    public func sink(_ handler: @escaping PostgresEventSink.Handler) -> PostgresEventSink {
        PostgresEventSink(store: self, handler: handler)
    }

    /// Runs an operation with the log's deadline; errors of the body that are not the database's
    /// (a refusal such as a 404 or 409) come out unchanged.
    ///
    /// While the database does not answer (its last operation here ended without an answer),
    /// operations get ``outageTimeout`` instead of 30 s: a request during an outage is refused
    /// within seconds (a 503 the client retries) instead of outlasting the gateway's timeout. The
    /// first answer restores the full deadline.
    private func perform<T: Sendable>(
        _ operation: String, within limit: Duration? = nil, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        await log.started.wait()
        let timeout = limit ?? (answering.load(ordering: .relaxed) ? PostgresEventLog.operationTimeout : Self.outageTimeout)
        do {
            let result = try await Deadline.run(timeout, body)
            answering.store(true, ordering: .relaxed)
            return result
        } catch let error as PostgresTransactionError {
            if let own = error.closureError, !Self.isDatabaseError(own), error.rollbackError == nil {
                answering.store(true, ordering: .relaxed)
                throw own
            }
            throw noted(PostgresFailure(operation, error))
        } catch let exceeded as Deadline.Exceeded {
            if timeout == PostgresEventLog.operationTimeout {
                log.logger.warning("a database operation did not answer; giving it up", metadata: ["operation": .string(operation)])
            }
            throw noted(PostgresFailure(operation, exceeded))
        } catch let error where Self.isDatabaseError(error) {
            throw noted(PostgresFailure(operation, error))
        }
        // Anything else (a cancellation) says nothing about the database: the flag stays.
    }

    /// Remembers whether the database answered (an error with a SQLSTATE, or a row that did not
    /// decode, is an answer).
    private func noted(_ failure: PostgresFailure) -> PostgresFailure {
        answering.store(!failure.isTransient || failure.sqlState != nil, ordering: .relaxed)
        return failure
    }

    /// How long an operation may take while the database is not answering.
    static let outageTimeout: Duration = .seconds(2)

    static func isDatabaseError(_ error: any Error) -> Bool {
        error is PSQLError || error is PostgresFailure || error is PostgresTransactionError || error is PostgresDecodingError
    }
}

/// A consumer's handler applied in a service's PostgreSQL schema: a batch in one transaction,
/// each event in a savepoint with its `processed_events` row.
public struct PostgresEventSink: EventSink {
    public typealias Handler = @Sendable (EventEnvelope, PostgresConnection) async throws -> Void

    let store: PostgresServiceDatabase
    let handler: Handler

    /// Failures that may go away by themselves (the connection, the server's resources, a
    /// deadlock or serialisation conflict, a shutdown or cancellation): the batch is retried.
    /// Anything else is the event's fault.
    static func isTransient(_ error: any Error) -> Bool {
        if error is Deadline.Exceeded || error is CancellationError { return true }
        if let failure = error as? PostgresFailure { return failure.isTransient }
        guard let psql = error as? PSQLError else { return false }
        guard let state = psql.serverInfo?[.sqlState] else { return true }  // no answer from the server: the connection
        return PostgresFailure.isTransient(sqlState: state)
    }

    /// The whole batch in one transaction: one statement records every event as processed and
    /// says which were new, then the handlers run for those. Only when a handler fails for a
    /// reason of the event's own is the batch applied again event by event, each in a savepoint,
    /// so that one is set aside and the rest commit.
    public func apply(_ events: [StoredEvent], group: String) async throws -> [DeadLetter] {
        do {
            try await applyAtOnce(events, group: group)
            return []
        } catch where !Self.isTransient(error) {
            return try await applyOneByOne(events, group: group)
        }
    }

    private func applyAtOnce(_ events: [StoredEvent], group: String) async throws {
        let handler = self.handler
        let logger = store.log.logger
        try await store.write { connection in
            let now = Date().timeIntervalSince1970
            var fresh: Set<String> = []
            for try await id in try await connection.query(
                """
                INSERT INTO processed_events (event_id, consumer_group, position, processed_at)
                SELECT e.id, \(group), e.position, \(now) FROM unnest(\(events.map(\.envelope.id))::text[], \(events.map(\.position))::int8[]) AS e(id, position)
                ON CONFLICT (event_id) DO NOTHING RETURNING event_id
                """,
                logger: logger
            ).decode(String.self) {
                fresh.insert(id)
            }
            // Seen before: its effect already happened.
            for event in events where fresh.contains(event.envelope.id) {
                try await EventTracing.process(event, group: group) { try await handler(event.envelope, connection) }
            }
        }
    }

    private func applyOneByOne(_ events: [StoredEvent], group: String) async throws -> [DeadLetter] {
        let handler = self.handler
        let logger = store.log.logger
        return try await store.write { connection -> [DeadLetter] in
            var deadLettered: [DeadLetter] = []
            for event in events {
                let now = Date().timeIntervalSince1970
                let id = event.envelope.id
                try await connection.query("SAVEPOINT event", logger: logger)
                do {
                    var fresh = false
                    for try await _ in try await connection.query(
                        """
                        INSERT INTO processed_events (event_id, consumer_group, position, processed_at) VALUES (\(id), \(group), \(event.position), \(now))
                        ON CONFLICT (event_id) DO NOTHING RETURNING 1
                        """,
                        logger: logger
                    ) {
                        fresh = true
                    }
                    // Seen before: its effect already happened.
                    if fresh { try await EventTracing.process(event, group: group) { try await handler(event.envelope, connection) } }
                    try await connection.query("RELEASE SAVEPOINT event", logger: logger)
                } catch where Self.isTransient(error) {
                    throw error
                } catch {
                    try await connection.query("ROLLBACK TO SAVEPOINT event", logger: logger)
                    let reason = "\(PostgresFailure("handling \(event.envelope.type)", error))"
                    try await connection.query(
                        """
                        INSERT INTO dead_letters (event_id, consumer_group, type, error, payload, failed_at)
                        VALUES (\(id), \(group), \(event.envelope.type), \(reason), \(ByteBuffer(bytes: event.envelope.payload)), \(now))
                        ON CONFLICT (event_id) DO NOTHING
                        """,
                        logger: logger
                    )
                    try await connection.query(
                        """
                        INSERT INTO processed_events (event_id, consumer_group, position, processed_at) VALUES (\(id), \(group), \(event.position), \(now))
                        ON CONFLICT (event_id) DO NOTHING
                        """,
                        logger: logger
                    )
                    try await connection.query("RELEASE SAVEPOINT event", logger: logger)
                    deadLettered.append(DeadLetter(eventID: id, error: reason))
                }
            }
            return deadLettered
        }
    }

    public func forgetProcessed(group: String, upTo position: Int64, processedBefore cutoff: Double) async throws -> Int {
        var forgotten = 0
        let logger = store.log.logger
        while !Task.isCancelled {
            let chunk = try await store.write { connection -> Int in
                let rows = try await connection.query(
                    """
                    WITH gone AS (
                        DELETE FROM processed_events WHERE event_id IN (
                            SELECT event_id FROM processed_events WHERE consumer_group = \(group) AND position <= \(position) AND processed_at <= \(cutoff)
                            LIMIT 5000)
                        RETURNING 1)
                    SELECT count(*)::int8 FROM gone
                    """,
                    logger: logger
                )
                for try await count in rows.decode(Int64.self) { return Int(count) }
                return 0
            }
            forgotten += chunk
            if chunk < 5000 { break }
        }
        return forgotten
    }
}

/// A record a service reads from its PostgreSQL tables.
public protocol PostgresRecord {
    init(postgres row: PostgresRandomAccessRow) throws
}

extension PostgresRecord {
    /// The first row of a query as a record; nil when it returned none.
    public static func first(_ rows: PostgresRowSequence) async throws -> Self? {
        for try await row in rows { return try Self(postgres: row.makeRandomAccess()) }
        return nil
    }

    public static func all(_ rows: PostgresRowSequence) async throws -> [Self] {
        var records: [Self] = []
        for try await row in rows { records.append(try Self(postgres: row.makeRandomAccess())) }
        return records
    }
}

extension PostgresRowSequence {
    /// The first column of the first row (a count, an id), or nil when there is no row.
    public func single<T: PostgresDecodable & Sendable>(_ type: T.Type) async throws -> T? {
        for try await value in decode(T.self) { return value }
        return nil
    }

    /// Whether the query returned any row.
    public func any() async throws -> Bool {
        for try await _ in self { return true }
        return false
    }
}

extension PostgresRandomAccessRow {
    /// The value of `column`, or an error (not a trap) when the query has no such column.
    public func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard contains(column) else { throw PostgresFailure("decoding a row", MissingColumn(name: column)) }
        return try self[column].decode(T.self)
    }
}

struct MissingColumn: Error, CustomStringConvertible {
    var name: String
    var description: String { "the result has no column \(name)" }
}
