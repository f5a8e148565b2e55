import AsyncHTTPClient
import EventBus
import Foundation
import GRDB
import HotelEvents
import HotelSupport
import Hummingbird
import Logging
import NIOPosix
import HotelAPI
import PortierHTTP
import Resilience
import ServiceLifecycle

/// Settings of the books service beyond where it listens.
public struct BooksSettings: Sendable {
    /// Base URL of the payments service.
    public var paymentsURL: String
    /// How long a booking waits for payments before answering 503.
    public var paymentTimeout: Duration
    public var paymentBreaker: CircuitBreaker.Configuration
    /// How long a booking's hold on the dates lasts if its request never finishes (a crash).
    public var holdSeconds: Double
    /// How books gets its own token for payments (client credentials as `portier-books`).
    public var serviceToken: ServiceTokenProvider.Configuration

    /// The client books authenticates as at the token server.
    public static let clientID = "portier-books"

    public init(
        paymentsURL: String = "http://127.0.0.1:8083", paymentTimeout: Duration = .seconds(2), holdSeconds: Double = 30,
        paymentBreaker: CircuitBreaker.Configuration = .init(
            failureRatePercent: 50, slowCallRatePercent: 100, slowCallDuration: .seconds(2), minimumCalls: 10, window: .seconds(10),
            openDuration: .seconds(5), halfOpenCalls: 3
        ),
        serviceToken: ServiceTokenProvider.Configuration = .init(
            tokenURL: ServiceAuthSettings().tokenURL, clientID: BooksSettings.clientID, secretFile: "./data/books-client.secret",
            scope: PaymentsContract.writeScope
        )
    ) {
        self.paymentsURL = paymentsURL
        self.paymentTimeout = paymentTimeout
        self.paymentBreaker = paymentBreaker
        self.holdSeconds = holdSeconds
        self.serviceToken = serviceToken
    }
}

/// The books service (F4 book, F5 pay synchronously, F8 view, F9 cancel).
///
/// A booking is stored only after its payment was approved. Meanwhile a short-lived hold on the
/// room's dates keeps concurrent guests from booking the same nights (also across replicas of this
/// service, since holds live in its database). When the outcome of a payment is unknown, or the
/// booking cannot be stored after approval, the payment is voided, retried until payments confirms.
public enum BooksService {
    public static let name = "books"

    public static func build(
        settings: HotelServiceSettings, books: BooksSettings = .init(), logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let store = try ServiceDatabase(path: settings.databasePath(name), source: name) { migrator in
            migrator.registerMigration("books-v1") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE rooms (
                            id INTEGER PRIMARY KEY NOT NULL,
                            name TEXT NOT NULL,
                            host_id INTEGER NOT NULL,
                            price INTEGER NOT NULL,
                            deleted INTEGER NOT NULL DEFAULT 0
                        );
                        CREATE TABLE holds (
                            id INTEGER PRIMARY KEY AUTOINCREMENT,
                            room_id INTEGER NOT NULL,
                            start_date TEXT NOT NULL,
                            end_date TEXT NOT NULL,
                            expires_at REAL NOT NULL
                        );
                        CREATE INDEX holds_room ON holds (room_id);
                        CREATE TABLE books (
                            id INTEGER PRIMARY KEY NOT NULL,
                            room_id INTEGER NOT NULL,
                            room_name TEXT NOT NULL,
                            guest_id INTEGER NOT NULL,
                            host_id INTEGER NOT NULL,
                            start_date TEXT NOT NULL,
                            end_date TEXT NOT NULL,
                            nights INTEGER NOT NULL,
                            price INTEGER NOT NULL,
                            status TEXT NOT NULL,
                            payment_id INTEGER NOT NULL,
                            created_at REAL NOT NULL,
                            canceled_at REAL
                        );
                        CREATE INDEX books_room ON books (room_id, status, end_date);
                        CREATE INDEX books_guest ON books (guest_id);
                        CREATE INDEX books_host ON books (host_id);
                        CREATE TABLE pending_voids (
                            book_id INTEGER PRIMARY KEY NOT NULL,
                            reason TEXT NOT NULL,
                            attempts INTEGER NOT NULL DEFAULT 0,
                            next_attempt_at REAL NOT NULL
                        );
                        """
                )
            }
            // A row per payment in flight ('guard'): if no booking is stored by its time, the
            // payment is voided. It is written with the hold, so a crash cannot skip it.
            migrator.registerMigration("books-v2-payment-guards") { db in
                try db.execute(sql: "ALTER TABLE pending_voids ADD COLUMN state TEXT NOT NULL DEFAULT 'due'")
            }
        }
        let log = try settings.openEventLog(logger: logger)
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.timeout = .init(connect: .seconds(1), read: nil)
        clientConfiguration.redirectConfiguration = .disallow
        // No tracer is bootstrapped; without this, every request still builds a no-op span (~3% of the gateway's CPU).
        clientConfiguration.tracing.tracer = nil
        clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        clientConfiguration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: clientConfiguration)
        let payments = PaymentClient(
            baseURL: books.paymentsURL, client: client, breaker: books.paymentBreaker, timeout: books.paymentTimeout,
            tokens: ServiceTokenProvider(configuration: books.serviceToken, client: client, logger: logger), logger: logger
        )
        let desk = BookingDesk(store: store, payments: payments, holdSeconds: books.holdSeconds, logger: logger)
        let replica = EventConsumer(
            group: name, log: log, store: store, types: [RoomRegistered.type, RoomDeleted.type], logger: logger, handler: applyRoomEvent
        )
        return HotelService.application(
            name: name, settings: settings, store: store, eventLog: log, logger: logger,
            services: [ClientShutdown(client: client), OutboxRelay(store: store, log: log, logger: logger), replica, VoidRetrier(desk: desk)],
            onServerRunning: onServerRunning
        ) { router in
            router.post("/books") { request, _ in try await desk.book(request) }
            router.get("/books") { request, _ in try await desk.list(request) }
            router.get("/books/:id") { _, context in try await desk.find(RequestDecoding.id(context)) }
            router.delete("/books/:id") { _, context in try await desk.cancel(RequestDecoding.id(context)) }
            router.post("/books/:id/cancel") { _, context in try await desk.cancel(RequestDecoding.id(context)) }
        }
    }

    /// Keeps the replica of rooms in step with the rooms service.
    @Sendable static func applyRoomEvent(_ event: EventEnvelope, _ db: Database) throws {
        switch event.type {
        case RoomRegistered.type:
            let room = try event.decode(RoomRegistered.self)
            try db.execute(
                sql: "INSERT OR IGNORE INTO rooms (id, name, host_id, price) VALUES (?, ?, ?, ?)",
                arguments: [room.roomID, room.name, room.hostID, room.price]
            )
        case RoomDeleted.type:
            try db.execute(sql: "UPDATE rooms SET deleted = 1 WHERE id = ?", arguments: [try event.decode(RoomDeleted.self).roomID])
        default:
            break
        }
    }
}

/// Shuts the payments client down after the server drained.
struct ClientShutdown: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

/// Retries voiding payments whose outcome was unknown, with backoff, until payments confirms.
struct VoidRetrier: Service {
    let desk: BookingDesk

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await desk.retryVoids()
                await desk.voidWakeup.wait(timeout: .seconds(1))
            }
        }
    }
}
