import EventBus
import Foundation
import Hummingbird
import Logging
import PortierHTTP
import ServiceLifecycle
import Synchronization

/// Where a hotel service listens and keeps its data.
public struct HotelServiceSettings: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    /// Consumed events older than this leave the shared log (``EventLogRetention``).
    public var eventRetention: Duration
    /// The PostgreSQL database of the event log; nil for the SQLite file in the data directory.
    public var database: PostgresURL?
    /// The admin listener (/metrics, health probes); nil runs none.
    public var admin: AdminEndpoint?

    public init(
        host: String = "127.0.0.1", port: Int, dataDirectory: String = "./data", eventRetention: Duration = EventLogRetention.defaultAge,
        database: PostgresURL? = nil, admin: AdminEndpoint? = nil
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.eventRetention = eventRetention
        self.database = database
        self.admin = admin
    }

    /// The service's own SQLite file.
    public func databasePath(_ service: String) -> String { dataDirectory + "/\(service).sqlite" }

    /// The event log shared by the services on this machine.
    public var eventLogPath: String { dataDirectory + "/events.sqlite" }

    /// The event log the services share: in PostgreSQL when ``database`` is set, else the SQLite
    /// file. A PostgreSQL log is also a service (its connection pool), which the application runs.
    public func openEventLog(logger: Logger) throws -> any EventLog {
        if let database { return PostgresEventLog(url: database, logger: logger) }
        return try SQLiteEventLog(path: eventLogPath)
    }

    /// The event log and a service's own store, on the same engine: with ``database`` set, the
    /// service's schema in PostgreSQL (sharing the log's connection pool); otherwise its SQLite
    /// file in the data directory.
    public func openStore<Store>(
        _ service: String, logger: Logger, sqlite: (_ path: String) throws -> Store, postgres: (PostgresEventLog) -> Store
    ) throws -> (log: any EventLog, store: Store) {
        if let database {
            // The pool's connections name tables in the service's schema: no round trip to set it.
            let log = PostgresEventLog(url: database, logger: logger, searchPath: "portier_\(service)")
            return (log, postgres(log))
        }
        return (try openEventLog(logger: logger), try sqlite(databasePath(service)))
    }
}

/// The wiring every hotel service shares: router with access log and JSON errors, health probes
/// that check the service's database, and the background services (relay, consumers, the event
/// log's retention) that run and stop with the HTTP server.
public enum HotelService {
    public static func application(
        name: String, settings: HotelServiceSettings, store: any ServiceStore, eventLog: any EventLog, logger: Logger, services: [any Service],
        onServerRunning: @escaping @Sendable (Int) async -> Void, routes: (Router<PortierRequestContext>) -> Void
    ) -> some ApplicationProtocol {
        let router = MethodSemantics.router()
        // Outermost: every line below, the access log's included, is written inside the request's
        // span and carries its trace_id and span_id (continued from the caller's `traceparent`).
        router.add(middleware: TraceMiddleware())
        // Next, so it sees the status the access log renders for errors.
        let metrics = ProcessMetrics(process: name)
        router.add(middleware: RequestMetricsMiddleware(RequestMetrics(metrics: metrics)))
        router.add(middleware: AccessLogMiddleware(logger: logger))
        router.add(middleware: DatabaseFailureMiddleware(logger: logger))
        let pings = CoalescedCheck()
        let ready: @Sendable () async -> String? = {
            do {
                try await Deadline.run(.seconds(2)) { try await store.ping() }
            } catch {
                return "database unavailable"
            }
            // Without the log nothing this service publishes or consumes moves: not ready, so a load
            // balancer sends requests to a replica that can. Answered within 2 s either way.
            do {
                return try await Deadline.run(.seconds(2)) {
                    // One ping at a time: probes during an outage share it instead of piling up on the pool.
                    await pings.run { (try? await eventLog.ping()) == nil ? "event log unavailable" : nil }
                }
            } catch {
                return "event log did not answer within 2 s"
            }
        }
        HealthRoutes.add(to: router, ready: ready)
        routes(router)
        MethodSemantics.complete(router)
        EventBusMetrics.track(
            store: store, log: eventLog, relays: services.compactMap { $0 as? OutboxRelay }, consumers: services.compactMap { $0 as? EventConsumer },
            metrics: metrics, logger: logger
        )
        let admin: [any Service] =
            settings.admin.map { [AdminServer.application(process: name, endpoint: $0, metrics: metrics, logger: logger, ready: ready)] } ?? []
        return Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "portier-\(name)"),
            // The log's own service first: it starts first and stops last, after the relay's final flush.
            services: [eventLog as? any Service].compactMap { $0 } + services
                + [EventLogRetention(log: eventLog, age: settings.eventRetention, logger: logger)] + admin,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.port
                logger.info("\(name) listening", metadata: ["port": .stringConvertible(port)])
                await onServerRunning(port)
            },
            logger: logger
        )
    }
}

/// A database that cannot answer (PostgreSQL down, restarting, or out of connections) is a 503
/// with Retry-After, which clients and the gateway retry, not a 500.
struct DatabaseFailureMiddleware: RouterMiddleware {
    typealias Context = PortierRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let failure as PostgresFailure where failure.isTransient {
            logger.error("database unavailable", metadata: ["error": .string(failure.description), "request_id": .string(context.requestID)])
            throw APIError.serviceUnavailable("the database is unavailable, please try again in a moment", retryAfter: 1)
        }
    }
}

/// Runs a check once for every caller that asks while it is running: they all get its answer.
final class CoalescedCheck: Sendable {
    private let state = Mutex<(running: Bool, waiters: [CheckedContinuation<String?, Never>])>((false, []))

    func run(_ check: @escaping @Sendable () async -> String?) async -> String? {
        await withCheckedContinuation { continuation in
            let start = state.withLock { state -> Bool in
                state.waiters.append(continuation)
                if state.running { return false }
                state.running = true
                return true
            }
            guard start else { return }
            Task {
                let answer = await check()
                let waiters = state.withLock { state -> [CheckedContinuation<String?, Never>] in
                    state.running = false
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume(returning: answer) }
            }
        }
    }
}
