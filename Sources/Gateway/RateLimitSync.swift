import GatewayConfig
public import Logging
public import PostgresNIO
import Resilience
import ServiceLifecycle
import Synchronization

/// Where and how a gateway shares its rate limits with its other replicas (`--database`).
///
/// The gateway depends on PostgresNIO alone: the command line turns the URL into `database` and
/// hands in the migrator that creates ``RateLimitStore/schema``, as every other process does with
/// its own schema.
public struct RateLimitSharing: Sendable {
    /// The connection pool; the gateway uses at most two connections of it.
    public var database: PostgresClient.Configuration
    /// The database without its password, for log lines.
    public var databaseDescription: String
    /// Creates or upgrades ``RateLimitStore/schema`` (``RateLimitStore/migrations``); run before the
    /// first exchange, and again after a failure until it succeeds.
    public var migrate: @Sendable (PostgresClient, Logger) async throws -> Void
    /// An operation that has not answered after this long (a connection that died without a word)
    /// is given up: the connections are closed and opened anew.
    public var operationTimeout: Duration
    /// How long to wait for a connection. PostgresNIO's pool keeps a caller waiting while it
    /// retries a database that refuses connections; past this the round counts as failed.
    public var connectTimeout: Duration
    /// How often rows that mean nothing any more are deleted (by every replica; they skip each
    /// other's rows rather than wait).
    public var expiryInterval: Duration

    public init(
        database: PostgresClient.Configuration, databaseDescription: String,
        migrate: @escaping @Sendable (PostgresClient, Logger) async throws -> Void, operationTimeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(2), expiryInterval: Duration = .seconds(2)
    ) {
        self.database = database
        self.databaseDescription = databaseDescription
        self.migrate = migrate
        self.operationTimeout = operationTimeout
        self.connectTimeout = connectTimeout
        self.expiryInterval = expiryInterval
    }
}

/// Shares every route's rate limits with the other replicas, Kong's `cluster` policy with
/// `sync_rate`: requests are decided on local buckets only, and at each route's `syncMillis` one
/// round trip pushes what this replica admitted since the last one into the route's rows in
/// PostgreSQL, where the cluster's bucket is charged, and brings back each key's level, which the
/// local bucket takes over (less what it admitted meanwhile). So every replica converges to the
/// cluster-wide usage within about two intervals.
///
/// Best effort by design: while PostgreSQL does not answer, each replica limits on its own (the
/// limits then add up across replicas), says so once in the log and counts the failed rounds.
/// What it admitted meanwhile goes with the first exchange that succeeds, at most one burst per
/// key, so nobody owes a long debt after an outage. Readiness does not depend on any of it.
final class RateLimitSync: Service {
    let core: GatewayCore
    let sharing: RateLimitSharing
    let logger: Logger
    let status: RateLimitSyncStatus

    init(core: GatewayCore, sharing: RateLimitSharing, logger: Logger) {
        self.core = core
        self.sharing = sharing
        self.logger = logger
        self.status = RateLimitSyncStatus(metrics: core.metrics)
        core.metrics.trackRateLimitSync(status)
    }

    func run() async {
        await cancelWhenGracefulShutdown {
            var schedule = Schedule()
            while !Task.isCancelled {
                await self.connectAndSync(&schedule)
            }
        }
    }

    /// When each route is due, and when PostgreSQL may be tried again after a failure.
    struct Schedule {
        var due: [String: ContinuousClock.Instant] = [:]
        var retryAt: ContinuousClock.Instant?
        var backoff: Duration = .zero
        var nextExpiry: ContinuousClock.Instant = .now
    }

    /// Syncs over one PostgreSQL client until an operation overruns its deadline; then the client
    /// is shut down, which closes its connections and fails whatever hung on them, and the caller
    /// starts over with a new one.
    private func connectAndSync(_ schedule: inout Schedule) async {
        var backgroundLogger = logger
        backgroundLogger.logLevel = .critical  // failures are reported once, here, not per connection attempt
        let client = PostgresClient(configuration: sharing.database, backgroundLogger: backgroundLogger)
        let watch = OperationWatch()
        let box = ScheduleBox(schedule)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            group.addTask { await self.sync(client, watch: watch, schedule: box) }
            group.addTask {
                guard let overrun = await watch.overrun() else { return }
                self.failed(overrun, schedule: box)
            }
            _ = await group.next()
            group.cancelAll()
        }
        schedule = box.withLock { $0 }
    }

    private func sync(_ client: PostgresClient, watch: OperationWatch, schedule box: ScheduleBox) async {
        var migrated = false
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let limited = core.table.routes.compactMap { route -> LimitedRoute? in
                guard let limiter = route.limiter, let settings = route.settings.rateLimit else { return nil }
                return LimitedRoute(id: route.id, limiter: limiter, settings: settings)
            }
            let (due, tryDatabase, expire) = box.withLock { schedule in
                schedule.due = schedule.due.filter { id, _ in limited.contains { $0.id == id } }
                let due = limited.filter { (schedule.due[$0.id] ?? now) <= now }
                for route in due { schedule.due[route.id] = now + route.settings.syncInterval }
                let tryDatabase = schedule.retryAt.map { now >= $0 } ?? true
                let expire = tryDatabase && now >= schedule.nextExpiry
                if expire { schedule.nextExpiry = now + sharing.expiryInterval }
                return (due, tryDatabase, expire)
            }
            if !due.isEmpty {
                let usage = due.map { RateLimitStore.RouteUsage(route: $0.id, bucket: $0.limiter.configuration, usage: $0.limiter.takeUsage(now: now)) }
                var delivered = false
                if tryDatabase {
                    do {
                        if !migrated {
                            try await connected(client, watch) { _ in }
                            try await watch.run(limit: sharing.operationTimeout) { try await self.sharing.migrate(client, self.logger) }
                            migrated = true
                        }
                        let levels = try await connected(client, watch) { connection in
                            try await RateLimitStore.exchange(usage, on: connection, logger: self.logger)
                        }
                        delivered = true
                        let answered = ContinuousClock.now
                        for (route, routeLevels) in zip(due, levels) { route.limiter.adopt(levels: routeLevels, now: answered) }
                        if expire { try await connected(client, watch) { try await RateLimitStore.expire(on: $0, logger: self.logger) } }
                        status.succeeded(logger: logger, database: sharing.databaseDescription)
                        box.withLock { $0.retryAt = nil; $0.backoff = .zero }
                    } catch {
                        if !delivered { Self.giveBack(usage, to: due) }
                        if Task.isCancelled { return }
                        failed(Self.describe(error), schedule: box)
                    }
                } else {
                    // PostgreSQL is away: the usage waits for the next attempt (at most a burst per key).
                    Self.giveBack(usage, to: due)
                }
            }
            // The next route due; without rate-limited routes, look again after a second (a reload may add one).
            let wake = box.withLock { schedule in limited.compactMap { schedule.due[$0.id] }.min() } ?? now + .seconds(1)
            try? await Task.sleep(until: wake, clock: .continuous)
        }
    }

    /// Runs `body` on a connection of the pool: waiting for one at most ``RateLimitSharing/connectTimeout``,
    /// then at most ``RateLimitSharing/operationTimeout`` for the work.
    @discardableResult
    private func connected<T: Sendable>(
        _ client: PostgresClient, _ watch: OperationWatch, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await watch.run(limit: sharing.connectTimeout, phase: "no connection") {
            try await client.withConnection { connection in
                watch.restart(limit: self.sharing.operationTimeout, phase: "no answer")
                return try await body(connection)
            }
        }
    }

    private static func giveBack(_ usage: [RateLimitStore.RouteUsage], to routes: [LimitedRoute]) {
        for (route, part) in zip(routes, usage) { route.limiter.giveBack(part.usage) }
    }

    /// Counts and (once per outage) logs a failed round, and backs off: 250 ms, doubling to 5 s.
    private func failed(_ reason: String, schedule box: ScheduleBox) {
        status.failed(reason, logger: logger, database: sharing.databaseDescription)
        box.withLock { schedule in
            schedule.backoff = min(.seconds(5), max(.milliseconds(250), schedule.backoff * 2))
            schedule.retryAt = ContinuousClock.now + schedule.backoff
        }
    }

    struct LimitedRoute: Sendable {
        var id: String
        var limiter: KeyedRateLimiter
        var settings: GatewayConfiguration.RateLimitSettings
    }

    /// The server's own words for a failure: PostgresNIO's errors print a deliberately vague text.
    static func describe(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] { return "\(message) (SQLSTATE \(psql.serverInfo?[.sqlState] ?? "?"))" }
            return "\(psql.code)" + (psql.underlying.map { ": \($0)" } ?? "")
        }
        return "\(error)"
    }
}

/// The schedule, shared between a sync loop and the watchdog that may end it.
final class ScheduleBox: Sendable {
    private let schedule: Mutex<RateLimitSync.Schedule>

    init(_ schedule: RateLimitSync.Schedule) {
        self.schedule = Mutex(schedule)
    }

    func withLock<T: Sendable>(_ body: (inout RateLimitSync.Schedule) -> T) -> T {
        schedule.withLock { body(&$0) }
    }
}

/// Tells how long the operation in progress has run, so a watchdog can end one that hangs.
final class OperationWatch: Sendable {
    private struct Running {
        var since: ContinuousClock.Instant
        var limit: Duration
        var phase: String
    }
    private let running = Mutex<Running?>(nil)

    @discardableResult
    func run<T>(limit: Duration, phase: String = "no answer", _ operation: () async throws -> T) async throws -> T {
        restart(limit: limit, phase: phase)
        defer { running.withLock { $0 = nil } }
        return try await operation()
    }

    /// The operation enters a new phase with a deadline of its own, counted from now.
    func restart(limit: Duration, phase: String) {
        running.withLock { $0 = Running(since: .now, limit: limit, phase: phase) }
    }

    /// Returns why once an operation has overrun its deadline; nil when cancelled.
    func overrun() async -> String? {
        while !Task.isCancelled {
            if let running = running.withLock({ $0 }), ContinuousClock.now - running.since > running.limit {
                return "\(running.phase) within \(running.limit)"
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}

/// Whether sharing works, for the log (one line when it stops, one when it is back) and metrics.
final class RateLimitSyncStatus: Sendable {
    private struct State {
        var lastSuccess: ContinuousClock.Instant?
        var started = ContinuousClock.now
        /// nil before the first outcome.
        var healthy: Bool?
    }
    private let state = Mutex(State())
    private let metrics: GatewayMetrics

    init(metrics: GatewayMetrics) {
        self.metrics = metrics
    }

    func succeeded(logger: Logger, database: String) {
        metrics.rateLimitSync(ok: true)
        let (was, first) = state.withLock { state in
            let before = (state.healthy, state.lastSuccess == nil)
            state.healthy = true
            state.lastSuccess = .now
            return before
        }
        if first {
            logger.info("rate limits are shared with the other replicas", metadata: ["database": .string(database)])
        } else if was == false {
            logger.info("rate limits are shared again", metadata: ["database": .string(database)])
        }
    }

    func failed(_ reason: String, logger: Logger, database: String) {
        metrics.rateLimitSync(ok: false)
        let was = state.withLock { state in
            let was = state.healthy
            state.healthy = false
            return was
        }
        guard was != false else { return }
        logger.warning(
            "rate limits are counted per replica until PostgreSQL answers (requests are not held up)",
            metadata: ["database": .string(database), "error": .string(reason)]
        )
    }

    /// Seconds since the last successful exchange (since start if none yet).
    func age(now: ContinuousClock.Instant = .now) -> Duration {
        state.withLock { now - ($0.lastSuccess ?? $0.started) }
    }
}
