import EventBus
import Foundation
import HotelEvents
import HotelSupport
import Hummingbird
import Logging
import PortierClients
import PortierHTTP
import ServiceLifecycle

/// The payments service (F5 pay, F10 cancel on BookCanceled). Every payment change publishes
/// its event in the same transaction.
///
/// Creating and voiding payments are internal operations: they need a service token with
/// ``writeScope``, which only books' own client has. Reading payments stays open (the gateway
/// requires `read` for it).
public enum PaymentsService {
    public static let name = "payments"
    /// The service's schema in PostgreSQL (for `portier db migrate`).
    public static var postgresMigrator: PostgresMigrator { PostgresPaymentsStore.migrator }
    /// The scope books' service token carries; no ordinary client is given it.
    public static let writeScope = PaymentsContract.writeScope

    public static func build(
        settings: HotelServiceSettings, auth: ServiceAuthSettings = .init(), logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let (log, store) = try settings.openStore(name, logger: logger) { path -> any PaymentsStore in
            try SQLitePaymentsStore(path: path)
        } postgres: { PostgresPaymentsStore(log: $0) }
        let ledger = PaymentLedger(store: store)
        let cancellations = EventConsumer(group: name, log: log, sink: store.cancellations(), types: [BookCanceled.type], logger: logger)
        let internalCalls = ServiceTokenGuard(settings: auth, logger: logger)
        return HotelService.application(
            name: name, settings: settings, store: store.bus, eventLog: log, logger: logger,
            services: [OutboxRelay(store: store.bus, log: log, logger: logger), cancellations, GuardShutdown(guard: internalCalls)],
            onServerRunning: onServerRunning
        ) { router in
            router.post(RouterPath(PaymentsContract.payPath)) { request, _ in
                _ = try await internalCalls.authorize(request, scope: writeScope)
                return try await ledger.pay(request)
            }
            router.post(RouterPath(PaymentsContract.voidPath)) { request, _ in
                _ = try await internalCalls.authorize(request, scope: writeScope)
                return try await ledger.void(request)
            }
            router.get("/payments/:id") { _, context in try await ledger.find(RequestDecoding.id(context)) }
            router.get("/payments") { request, _ in try await ledger.list(request) }
        }
    }
}

/// Closes the token guard's JWKS client after the server drained.
struct GuardShutdown: Service {
    let `guard`: ServiceTokenGuard

    func run() async throws {
        try? await gracefulShutdown()
        try await `guard`.shutdown()
    }
}

/// The payments API over the store.
struct PaymentLedger: Sendable {
    let store: any PaymentsStore

    /// Idempotent on bookId: the same request again answers the existing payment (200); a request
    /// for a voided booking is refused (409), so a late retry cannot charge for a booking that failed.
    func pay(_ request: Request) async throws -> Response {
        let input = try await RequestDecoding.body(PaymentRequest.self, from: request)
        let (payment, created) = try await store.pay(input, at: Date().timeIntervalSince1970)
        return JSONResponse.make(status: created ? .created : .ok, payment, headers: [.location: "/payments/\(payment.id)"])
    }

    /// Books' compensation: cancels the booking's payment, or records that none may be created.
    func void(_ request: Request) async throws -> Response {
        let input = try await RequestDecoding.body(VoidRequest.self, from: request)
        let payment = try await store.void(bookID: input.bookId, at: Date().timeIntervalSince1970)
        return JSONResponse.make(payment)
    }

    func find(_ id: Int64) async throws -> Response {
        guard let payment = try await store.find(id) else { throw APIError.notFound("payment \(id) does not exist") }
        return JSONResponse.make(payment)
    }

    /// `?bookId=` or `?guestId=`, newest first.
    func list(_ request: Request) async throws -> Response {
        let query = try RequestDecoding.query(PaymentList.self, from: request)
        let (payments, total) = try await store.list(query)
        return JSONResponse.make(PageOf(items: payments, page: query.page, total: total))
    }
}
