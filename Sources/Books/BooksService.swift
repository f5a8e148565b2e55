import AsyncHTTPClient
import EventBus
import Foundation
import HotelEvents
import HotelSupport
import Hummingbird
import Logging
import NIOPosix
import HotelAPI
import PortierClients
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
    /// The service's schema in PostgreSQL (for `portier db migrate`).
    public static var postgresMigrator: PostgresMigrator { PostgresBooksStore.migrator }

    public static func build(
        settings: HotelServiceSettings, books: BooksSettings = .init(), logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let (log, store) = try settings.openStore(name, logger: logger) { path -> any BooksStore in
            try SQLiteBooksStore(path: path)
        } postgres: { PostgresBooksStore(log: $0) }
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.timeout = .init(connect: .seconds(1), read: nil)
        clientConfiguration.redirectConfiguration = .disallow
        // Created after the process's tracer is bootstrapped, so calls to payments (and token fetches
        // made for them) are CLIENT spans of the booking and carry its `traceparent`.
        clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        clientConfiguration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: clientConfiguration)
        let payments = PaymentClient(
            baseURL: books.paymentsURL, client: client, breaker: books.paymentBreaker, timeout: books.paymentTimeout,
            tokens: ServiceTokenProvider(configuration: books.serviceToken, client: client, logger: logger), logger: logger
        )
        let desk = BookingDesk(store: store, payments: payments, holdSeconds: books.holdSeconds, logger: logger)
        let replica = EventConsumer(group: name, log: log, sink: store.roomReplica(), types: [RoomRegistered.type, RoomDeleted.type], logger: logger)
        return HotelService.application(
            name: name, settings: settings, store: store.bus, eventLog: log, logger: logger,
            services: [ClientShutdown(client: client), OutboxRelay(store: store.bus, log: log, logger: logger), replica, VoidRetrier(desk: desk)],
            onServerRunning: onServerRunning
        ) { router in
            router.post("/books") { request, _ in try await desk.book(request) }
            router.get("/books") { request, _ in try await desk.list(request) }
            router.get("/books/:id") { _, context in try await desk.find(RequestDecoding.id(context)) }
            router.delete("/books/:id") { _, context in try await desk.cancel(RequestDecoding.id(context)) }
            router.post("/books/:id/cancel") { _, context in try await desk.cancel(RequestDecoding.id(context)) }
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
