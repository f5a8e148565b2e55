import EventBus
import Foundation
import GRDB
import HotelEvents
import HotelSupport
import Hummingbird
import Logging
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
    /// The scope books' service token carries; no ordinary client is given it.
    public static let writeScope = PaymentsContract.writeScope

    public static func build(
        settings: HotelServiceSettings, auth: ServiceAuthSettings = .init(), logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let store = try ServiceDatabase(path: settings.databasePath(name), source: name) { migrator in
            migrator.registerMigration("payments-v1") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE payments (
                            id INTEGER PRIMARY KEY AUTOINCREMENT,
                            book_id INTEGER NOT NULL UNIQUE,
                            guest_id INTEGER NOT NULL,
                            host_id INTEGER NOT NULL,
                            room_id INTEGER NOT NULL,
                            room_name TEXT NOT NULL,
                            start_date TEXT NOT NULL,
                            end_date TEXT NOT NULL,
                            amount INTEGER NOT NULL,
                            status TEXT NOT NULL,
                            created_at REAL NOT NULL,
                            canceled_at REAL
                        );
                        """
                )
            }
        }
        let log = try settings.openEventLog(logger: logger)
        let ledger = PaymentLedger(store: store)
        let cancellations = EventConsumer(group: name, log: log, store: store, types: [BookCanceled.type], logger: logger) { event, db in
            try ledger.cancel(bookID: try event.decode(BookCanceled.self).booking.bookID, in: db, createTombstone: false)
        }
        let internalCalls = ServiceTokenGuard(settings: auth, logger: logger)
        return HotelService.application(
            name: name, settings: settings, store: store, eventLog: log, logger: logger,
            services: [OutboxRelay(store: store, log: log, logger: logger), cancellations, GuardShutdown(guard: internalCalls)],
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

/// The payment rules, shared by the HTTP handlers and the BookCanceled consumer.
struct PaymentLedger: Sendable {
    let store: ServiceDatabase

    /// Idempotent on bookId: the same request again answers the existing payment (200); a request
    /// for a voided booking is refused (409), so a late retry cannot charge for a booking that failed.
    func pay(_ request: Request) async throws -> Response {
        let input = try await RequestDecoding.body(PaymentRequest.self, from: request)
        let store = self.store
        let (payment, created) = try await store.write { db -> (Payment, Bool) in
            if let existing = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM payments WHERE book_id = ?"), arguments: [input.bookId])
                .map(Payment.init(row:))
            {
                guard existing.status == "Approved" else {
                    throw APIError.conflict("the payment for booking \(input.bookId) was \(existing.status.lowercased())")
                }
                guard existing.amount == input.amount, existing.guestId == input.guestId else {
                    throw APIError.conflict("booking \(input.bookId) was already paid with different details")
                }
                return (existing, false)
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO payments (book_id, guest_id, host_id, room_id, room_name, start_date, end_date, amount, status, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'Approved', ?)
                    """
            ).execute(
                arguments: [
                    input.bookId, input.guestId, input.hostId, input.roomId, input.roomName, input.startDate, input.endDate, input.amount,
                    Date().timeIntervalSince1970,
                ]
            )
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM payments WHERE id = ?"), arguments: [db.lastInsertedRowID]) else {
                throw APIError(.internalServerError, "server_error", "the payment for booking \(input.bookId) vanished while it was stored")
            }
            let payment = try Payment(row: row)
            try store.publish(
                EventEnvelope(PaymentApproved(paymentID: payment.id, booking: payment.booking, amount: payment.amount), source: store.source), in: db
            )
            return (payment, true)
        }
        return JSONResponse.make(status: created ? .created : .ok, payment, headers: [.location: "/payments/\(payment.id)"])
    }

    /// Books' compensation: cancels the booking's payment, or records that none may be created.
    func void(_ request: Request) async throws -> Response {
        let input = try await RequestDecoding.body(VoidRequest.self, from: request)
        let store = self.store
        let payment = try await store.write { db in try self.cancel(bookID: input.bookId, in: db, createTombstone: true) }
        return JSONResponse.make(payment)
    }

    /// Cancels the payment of a booking once; a second cancel changes nothing and publishes nothing.
    @discardableResult
    func cancel(bookID: Int64, in db: Database, createTombstone: Bool) throws -> Payment? {
        let now = Date().timeIntervalSince1970
        guard let payment = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM payments WHERE book_id = ?"), arguments: [bookID]).map(Payment.init(row:))
        else {
            guard createTombstone else { return nil }
            try db.execute(
                sql: """
                    INSERT INTO payments (book_id, guest_id, host_id, room_id, room_name, start_date, end_date, amount, status, created_at, canceled_at)
                    VALUES (?, 0, 0, 0, '', '', '', 0, 'Voided', ?, ?)
                    """,
                arguments: [bookID, now, now]
            )
            return try Row.fetchOne(db, sql: "SELECT * FROM payments WHERE book_id = ?", arguments: [bookID]).map(Payment.init(row:))
        }
        guard payment.status == "Approved" else { return payment }
        try db.cachedStatement(sql: "UPDATE payments SET status = 'Canceled', canceled_at = ? WHERE id = ?").execute(arguments: [now, payment.id])
        var canceled = payment
        canceled.status = "Canceled"
        canceled.canceledAt = Date(timeIntervalSince1970: now)
        try store.publish(
            EventEnvelope(PaymentCanceled(paymentID: payment.id, booking: payment.booking, amount: payment.amount), source: store.source), in: db
        )
        return canceled
    }

    func find(_ id: Int64) async throws -> Response {
        guard let payment = try await store.read({ db in
            try Row.fetchOne(db, sql: "SELECT * FROM payments WHERE id = ?", arguments: [id]).map(Payment.init(row:))
        }) else {
            throw APIError.notFound("payment \(id) does not exist")
        }
        return JSONResponse.make(payment)
    }

    /// `?bookId=` or `?guestId=`, newest first.
    func list(_ request: Request) async throws -> Response {
        let query = try RequestDecoding.query(PaymentList.self, from: request)
        let page = query.page
        let (column, value) = switch query.filter {
        case .book(let id): ("book_id", id)
        case .guest(let id): ("guest_id", id)
        }
        let (payments, total) = try await store.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM payments WHERE \(column) = ?", arguments: [value]) ?? 0
            let payments = try Row.fetchAll(
                db, sql: "SELECT * FROM payments WHERE \(column) = ? ORDER BY id DESC LIMIT ? OFFSET ?", arguments: [value, page.size, page.offset]
            ).map(Payment.init(row:))
            return (payments, total)
        }
        return JSONResponse.make(PageOf(items: payments, page: page, total: total))
    }
}
