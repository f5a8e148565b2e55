import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The event log in PostgreSQL (schema `portier_events`), for processes on several machines.
///
/// **Order.** A sequence value is taken at insert but becomes visible at commit, so two appends
/// could commit out of position order, and a consumer that had read up to the later one would never
/// see the earlier one. Appends therefore take a transaction-scoped advisory lock before they insert:
/// the lock is held until commit, so appends commit one after another in position order. The cost
/// is one append transaction at a time across the cluster; relays append whole outbox batches, so
/// that is one commit per batch, not per event.
///
/// **Wake-ups.** An append notifies channel `portier_events` (delivered at commit). Consumers wait
/// on it and otherwise poll every second, so a lost notification (a dropped listening connection)
/// costs latency, never an event.
///
/// **Leases** use the database's clock, so replicas on machines whose clocks differ still agree
/// on when a lease ran out.
///
/// It is a `Service`: running it runs its connection pool and the listener. Put it first in the
/// service group, so it stops last, after the relay's final flush and the consumers' last commit.
public final class PostgresEventLog: EventLog, Service {
    public let client: PostgresClient
    let logger: Logger
    private let migrated = Atomic<Bool>(false)
    /// The migration under way in this process, if any (see ``migrate()``).
    private let migration = Mutex<Task<Void, any Error>?>(nil)
    private let wakeups = Mutex<[Wakeup]>([])
    private let listening = Atomic<Bool>(false)
    /// Opened when the pool starts running: PostgresNIO warns about every lease asked for before.
    let started = StartGate()

    public static let schema = "portier_events"
    static let channel = "portier_events"
    static let appendLockKey: Int64 = 0x706F_7274_6C6F_6731  // "portlog1"

    public static let migrator = PostgresMigrator(
        schema: schema,
        migrations: [
            .init(
                "v1-log",
                [
                    """
                    CREATE TABLE portier_events.log (
                        position bigserial PRIMARY KEY,
                        id text NOT NULL UNIQUE,
                        type text NOT NULL,
                        book_id bigint,
                        occurred_at double precision NOT NULL,
                        source text NOT NULL,
                        payload bytea NOT NULL
                    )
                    """,
                    """
                    CREATE TABLE portier_events.consumer_groups (
                        name text PRIMARY KEY,
                        position bigint NOT NULL DEFAULT 0,
                        owner text,
                        lease_until timestamptz NOT NULL DEFAULT 'epoch'
                    )
                    """,
                ]
            ),
            // The context each event was created in, copied from the outbox as it was written.
            .init(
                "v2-log-trace",
                ["ALTER TABLE portier_events.log ADD COLUMN traceparent text, ADD COLUMN tracestate text"]
            ),
        ]
    )

    /// Whether this process listens for appends (a process without consumers, such as the token
    /// server, which uses the pool for its own schema only, does not).
    let listens: Bool

    /// The schema every connection of the pool names tables in (its `search_path`), when the
    /// process owns one: its store's statements then need no `SET search_path` round trip.
    let searchPath: String?

    public init(url: PostgresURL, logger: Logger, listens: Bool = true, searchPath: String? = nil) {
        var configuration = url.clientConfiguration
        if let searchPath { configuration.options.additionalStartupParameters.append(("search_path", searchPath)) }
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        self.listens = listens
        self.searchPath = searchPath
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    self.started.open()
                    await self.client.run()
                }
                if self.listens { group.addTask { await self.listen() } }
            }
        }
    }

    /// Runs `body` with the log's connection pool and listener running, then stops them (for
    /// commands that are not long-running services, such as `portier events`, and for tests).
    public static func with<T: Sendable>(
        url: PostgresURL, logger: Logger, listens: Bool = true, _ body: @Sendable (PostgresEventLog) async throws -> T
    ) async throws -> T {
        let log = PostgresEventLog(url: url, logger: logger, listens: listens)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await log.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(log)
        }
    }

    /// Creates or upgrades the schema; every operation runs it until it has succeeded once in this
    /// process. Callers that race run it together (the migrator's lock serialises them), and each
    /// runs in its caller's task, so a shutdown cancels a wait for a database that is not up.
    ///
    /// The callers of one process share one attempt: a process that starts many consumers and
    /// appenders at once runs one migration transaction, not one each queued on its lock. A
    /// caller cancelled while waiting (a shutdown) cancels that attempt; the next call starts anew.
    public func migrate() async throws {
        if migrated.load(ordering: .acquiring) { return }
        let attempt = migration.withLock { running -> Task<Void, any Error> in
            if let running { return running }
            let task = Task { [self] in
                await started.wait()
                do {
                    _ = try await Deadline.run(Self.migrationTimeout) { [client, logger] in
                        try await Self.migrator.migrate(client, logger: logger)
                    }
                } catch let exceeded as Deadline.Exceeded {
                    throw PostgresFailure("migrating schema \(Self.schema)", exceeded)
                }
                migrated.store(true, ordering: .releasing)
            }
            running = task
            return task
        }
        do {
            try await withTaskCancellationHandler { try await attempt.value } onCancel: { attempt.cancel() }
        } catch {
            migration.withLock { running in if running == attempt { running = nil } }
            throw error
        }
    }

    public func append(_ events: [EventEnvelope]) async throws {
        guard !events.isEmpty else { return }
        try await migrate()
        let ids = events.map(\.id)
        let types = events.map(\.type)
        let hasBook = events.map { $0.bookID != nil }
        let bookIDs = events.map { $0.bookID ?? 0 }
        let occurred = events.map(\.occurredAt)
        let sources = events.map(\.source)
        let payloads = events.map { ByteBuffer(bytes: $0.payload) }
        // Empty for none: arrays of optionals have no encoding here; NULLIF restores NULL.
        let traceParents = events.map { $0.traceParent ?? "" }
        let traceStates = events.map { $0.traceState ?? "" }
        try await run("appending to the event log") { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.appendLockKey))", logger: logger)
                try await connection.query(
                    """
                    INSERT INTO portier_events.log (id, type, book_id, occurred_at, source, payload, traceparent, tracestate)
                    SELECT e.id, e.type, CASE WHEN e.has_book THEN e.book_id END, e.occurred_at, e.source, e.payload,
                           NULLIF(e.traceparent, ''), NULLIF(e.tracestate, '')
                    FROM unnest(\(ids)::text[], \(types)::text[], \(hasBook)::bool[], \(bookIDs)::int8[], \(occurred)::float8[],
                                \(sources)::text[], \(payloads)::bytea[], \(traceParents)::text[], \(traceStates)::text[])
                         WITH ORDINALITY AS e(id, type, has_book, book_id, occurred_at, source, payload, traceparent, tracestate, n)
                    ORDER BY e.n
                    ON CONFLICT (id) DO NOTHING
                    """,
                    logger: logger
                )
                try await connection.query("SELECT pg_notify(\(Self.channel), '')", logger: logger)
            }
        }
    }

    public func read(after position: Int64, limit: Int) async throws -> [StoredEvent] {
        try await migrate()
        let limit = max(1, limit)
        return try await run("reading the event log") { [client, logger] in
            var events: [StoredEvent] = []
            let rows = try await client.query(
                """
                SELECT position, id, type, book_id, occurred_at, source, payload, traceparent, tracestate FROM portier_events.log
                WHERE position > \(position) ORDER BY position LIMIT \(limit)
                """,
                logger: logger
            )
            for try await (position, id, type, bookID, occurredAt, source, payload, traceParent, traceState) in rows.decode(
                (Int64, String, String, Int64?, Double, String, ByteBuffer, String?, String?).self
            ) {
                events.append(
                    StoredEvent(
                        position: position,
                        envelope: EventEnvelope(
                            id: id, type: type, occurredAt: occurredAt, bookID: bookID, source: source, payload: Data(payload.readableBytesView),
                            traceParent: traceParent, traceState: traceState
                        )
                    )
                )
            }
            return events
        }
    }

    public func acquireLease(group: String, owner: String, duration: Duration) async throws -> Lease {
        try await migrate()
        let seconds = duration.seconds
        return try await run("taking a consumer group's lease") { [client, logger] in
            let granted = try await client.query(
                """
                INSERT INTO portier_events.consumer_groups AS g (name, position, owner, lease_until)
                VALUES (\(group), 0, \(owner), clock_timestamp() + \(seconds) * interval '1 second')
                ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
                WHERE g.owner = excluded.owner OR g.owner IS NULL OR g.lease_until < clock_timestamp()
                RETURNING g.position
                """,
                logger: logger
            )
            for try await position in granted.decode(Int64.self) { return .granted(position: position) }
            let holder = try await client.query(
                """
                SELECT owner, EXTRACT(EPOCH FROM lease_until - clock_timestamp())::float8
                FROM portier_events.consumer_groups WHERE name = \(group)
                """,
                logger: logger
            )
            for try await (owner, seconds) in holder.decode((String?, Double?).self) {
                return .heldByOther(owner: owner ?? "?", seconds: seconds ?? 0)
            }
            return .heldByOther(owner: "?", seconds: 0)  // released in between: the next attempt takes it
        }
    }

    public func commit(group: String, owner: String, position: Int64, renewFor duration: Duration) async throws -> Bool {
        let seconds = duration.seconds
        return try await run("committing a consumer group's position") { [client, logger] in
            let rows = try await client.query(
                """
                UPDATE portier_events.consumer_groups
                SET position = GREATEST(position, \(position)), lease_until = clock_timestamp() + \(seconds) * interval '1 second'
                WHERE name = \(group) AND owner = \(owner) RETURNING 1
                """,
                logger: logger
            )
            for try await _ in rows { return true }
            return false
        }
    }

    public func ping() async throws {
        try await migrate()
        try await run("reaching the event log") { [client, logger] in
            for try await _ in try await client.query("SELECT 1", logger: logger) {}
        }
    }

    public func release(group: String, owner: String) async throws {
        try await run("releasing a consumer group's lease") { [client, logger] in
            for try await _ in try await client.query(
                "UPDATE portier_events.consumer_groups SET owner = NULL, lease_until = 'epoch' WHERE name = \(group) AND owner = \(owner)",
                logger: logger
            ) {}
        }
    }

    public func position(of group: String) async throws -> Int64 {
        try await migrate()
        return try await run("reading a consumer group's position") { [client, logger] in
            let rows = try await client.query("SELECT position FROM portier_events.consumer_groups WHERE name = \(group)", logger: logger)
            for try await position in rows.decode(Int64.self) { return position }
            return 0
        }
    }

    public func rewind(group: String, to position: Int64) async throws {
        try await migrate()
        let position = max(0, position)
        try await run("rewinding a consumer group") { [client, logger] in
            for try await _ in try await client.query(
                """
                INSERT INTO portier_events.consumer_groups (name, position, owner, lease_until) VALUES (\(group), \(position), NULL, 'epoch')
                ON CONFLICT (name) DO UPDATE SET position = excluded.position, owner = NULL, lease_until = 'epoch'
                """,
                logger: logger
            ) {}
        }
    }

    /// In transactions of at most `batch` events, so a first prune of a large log never holds
    /// many row locks for long.
    public func prune(occurredBefore cutoff: Double, batch: Int) async throws -> Int {
        try await migrate()
        let batch = max(1, batch)
        var total = 0
        while true {
            let deleted = try await run("pruning the event log") { [client, logger] in
                let rows = try await client.query(
                    """
                    WITH gone AS (
                        DELETE FROM portier_events.log WHERE position IN (
                            SELECT position FROM portier_events.log
                            WHERE occurred_at < \(cutoff) AND position <= (SELECT MIN(position) FROM portier_events.consumer_groups)
                            ORDER BY position LIMIT \(batch))
                        RETURNING 1)
                    SELECT count(*)::int8 FROM gone
                    """,
                    logger: logger
                )
                for try await count in rows.decode(Int64.self) { return Int(count) }
                return 0
            }
            total += deleted
            if deleted < batch { return total }
        }
    }

    public func status() async throws -> EventLogStatus {
        try await migrate()
        return try await run("reading the event log's status") { [client, logger] in
            // The newest event's position; once everything was pruned, the sequence's (which an
            // append that only repeated known ids may have moved past the last real event).
            var last: Int64 = 0
            for try await value in try await client.query(
                """
                SELECT COALESCE((SELECT MAX(position) FROM portier_events.log),
                                (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM portier_events.log_position_seq))
                """,
                logger: logger
            ).decode(Int64.self) {
                last = value
            }
            var oldest: (Int64, Double)?
            for try await row in try await client.query(
                "SELECT position, occurred_at FROM portier_events.log ORDER BY position LIMIT 1", logger: logger
            ).decode((Int64, Double).self) {
                oldest = row
            }
            var retained: Int64 = 0
            for try await count in try await client.query("SELECT count(*)::int8 FROM portier_events.log", logger: logger).decode(Int64.self) {
                retained = count
            }
            var groups: [EventLogStatus.Group] = []
            for try await (name, position, owner, seconds) in try await client.query(
                """
                SELECT name, position, owner, COALESCE(EXTRACT(EPOCH FROM lease_until - clock_timestamp())::float8, 0)
                FROM portier_events.consumer_groups ORDER BY name
                """,
                logger: logger
            ).decode((String, Int64, String?, Double).self) {
                groups.append(
                    .init(name: name, position: position, lag: max(0, last - position), owner: owner, leaseSeconds: owner == nil ? 0 : seconds)
                )
            }
            return EventLogStatus(lastPosition: last, oldestPosition: oldest?.0, oldestOccurredAt: oldest?.1, retained: retained, groups: groups)
        }
    }

    public var idlePollInterval: Duration? { .seconds(1) }

    /// Whether appends wake this process's consumers now (false while the listening connection is
    /// being established or re-established; consumers poll meanwhile).
    public var isListening: Bool { listening.load(ordering: .acquiring) }

    public func appendWakeup() -> Wakeup? {
        let wakeup = Wakeup()
        wakeups.withLock { $0.append(wakeup) }
        return wakeup
    }

    /// Holds one connection that listens for appends and wakes every consumer of this process.
    /// When the connection drops it reconnects; consumers poll meanwhile.
    private func listen() async {
        await started.wait()
        var failures = 0
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        failures = 0
                        self.wakeAll()  // appends made while nobody listened
                        self.listening.store(true, ordering: .releasing)
                        defer { self.listening.store(false, ordering: .releasing) }
                        for try await _ in notifications { self.wakeAll() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                if failures == 1 || failures % 60 == 0 {
                    logger.warning(
                        "cannot listen for event log appends; consumers poll every second",
                        metadata: ["error": .string(PostgresFailure("listening", error).description)]
                    )
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func wakeAll() {
        for wakeup in wakeups.withLock({ $0 }) { wakeup.signal() }
    }

    /// Every operation has 30 s: one that hangs (a connection that died silently) becomes an
    /// error the consumer or relay retries, instead of stopping it for good.
    func run<T: Sendable>(
        _ operation: String, within timeout: Duration = PostgresEventLog.operationTimeout, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        await started.wait()
        do {
            return try await Deadline.run(timeout, body)
        } catch let exceeded as Deadline.Exceeded {
            logger.warning("an event log operation did not answer; giving it up", metadata: ["operation": .string(operation)])
            throw PostgresFailure(operation, exceeded)
        } catch {
            throw PostgresFailure(operation, error)
        }
    }

    static let operationTimeout: Duration = .seconds(30)
    /// Longer: replicas starting together migrate one after another under one lock, and each
    /// holds it for several round trips, which a loaded machine can make slow.
    static let migrationTimeout: Duration = .seconds(120)
}

/// A gate that stays shut until opened once; then every waiter, present and future, passes.
final class StartGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if isOpen { continuation.resume() }
        }
    }
}
