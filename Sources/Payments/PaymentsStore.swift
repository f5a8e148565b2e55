import EventBus
import Foundation
import GRDB
import HotelEvents
import PortierHTTP

/// What the payments service keeps. Every payment change publishes its event in the same
/// transaction.
protocol PaymentsStore: Sendable {
    var bus: any ServiceStore { get }
    /// Creates the booking's payment and publishes PaymentApproved; the same request again
    /// returns the existing payment (`created` false). Throws 409 for a voided booking or
    /// different details.
    func pay(_ input: PaymentRequest, at time: Double) async throws -> (payment: Payment, created: Bool)
    /// Cancels the booking's payment (publishing PaymentCanceled once), or records that none may
    /// be created (a tombstone).
    func void(bookID: Int64, at time: Double) async throws -> Payment?
    func find(_ id: Int64) async throws -> Payment?
    func list(_ query: PaymentList) async throws -> (payments: [Payment], total: Int)
    /// Applies BookCanceled: cancels the booking's payment if there is one.
    func cancellations() -> any EventSink
}

/// The rules both engines apply.
enum PaymentRules {
    /// The answer to a payment request for a booking that already has a payment.
    static func repeated(_ existing: Payment, _ input: PaymentRequest) throws -> Payment {
        guard existing.status == "Approved" else {
            throw APIError.conflict("the payment for booking \(input.bookId) was \(existing.status.lowercased())")
        }
        guard existing.amount == input.amount, existing.guestId == input.guestId else {
            throw APIError.conflict("booking \(input.bookId) was already paid with different details")
        }
        return existing
    }

    static func approved(_ payment: Payment) throws -> EventEnvelope {
        try EventEnvelope(PaymentApproved(paymentID: payment.id, booking: payment.booking, amount: payment.amount), source: PaymentsService.name)
    }

    static func canceled(_ payment: Payment, at time: Double) throws -> (Payment, EventEnvelope) {
        var canceled = payment
        canceled.status = "Canceled"
        canceled.canceledAt = Date(timeIntervalSince1970: time)
        return (canceled, try EventEnvelope(PaymentCanceled(paymentID: payment.id, booking: payment.booking, amount: payment.amount), source: PaymentsService.name))
    }

    static func vanished(_ bookID: Int64) -> APIError {
        APIError(.internalServerError, "server_error", "the payment for booking \(bookID) vanished while it was stored")
    }

    static func filter(_ query: PaymentList) -> (column: String, value: Int64) {
        switch query.filter {
        case .book(let id): ("book_id", id)
        case .guest(let id): ("guest_id", id)
        }
    }
}

/// Payments in the service's SQLite file.
struct SQLitePaymentsStore: PaymentsStore {
    let database: ServiceDatabase
    var bus: any ServiceStore { database }

    init(path: String) throws {
        database = try ServiceDatabase(path: path, source: PaymentsService.name) { migrator in
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
    }

    func pay(_ input: PaymentRequest, at time: Double) async throws -> (payment: Payment, created: Bool) {
        let database = self.database
        return try await database.write { db -> (Payment, Bool) in
            if let existing = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM payments WHERE book_id = ?"), arguments: [input.bookId])
                .map(Payment.init(row:))
            {
                return (try PaymentRules.repeated(existing, input), false)
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO payments (book_id, guest_id, host_id, room_id, room_name, start_date, end_date, amount, status, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'Approved', ?)
                    """
            ).execute(
                arguments: [
                    input.bookId, input.guestId, input.hostId, input.roomId, input.roomName, input.startDate, input.endDate, input.amount, time,
                ]
            )
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM payments WHERE id = ?"), arguments: [db.lastInsertedRowID]) else {
                throw PaymentRules.vanished(input.bookId)
            }
            let payment = try Payment(row: row)
            try database.publish(try PaymentRules.approved(payment), in: db)
            return (payment, true)
        }
    }

    func void(bookID: Int64, at time: Double) async throws -> Payment? {
        try await database.write { [database] db in try Self.cancel(bookID: bookID, at: time, in: db, database: database, createTombstone: true) }
    }

    /// Cancels the payment of a booking once; a second cancel changes nothing and publishes nothing.
    static func cancel(bookID: Int64, at now: Double, in db: Database, database: ServiceDatabase, createTombstone: Bool) throws -> Payment? {
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
        let (canceled, event) = try PaymentRules.canceled(payment, at: now)
        try database.publish(event, in: db)
        return canceled
    }

    func find(_ id: Int64) async throws -> Payment? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM payments WHERE id = ?", arguments: [id]).map(Payment.init(row:))
        }
    }

    func list(_ query: PaymentList) async throws -> (payments: [Payment], total: Int) {
        let (column, value) = PaymentRules.filter(query)
        let found = try await database.page(
            of: "payments", where: column, equals: value, newestFirstBy: "id", size: query.page.size, offset: query.page.offset, Payment.init(row:)
        )
        return (found.records, found.total)
    }

    func cancellations() -> any EventSink {
        database.sink { [database] event, db in
            _ = try Self.cancel(
                bookID: try event.decode(BookCanceled.self).booking.bookID, at: Date().timeIntervalSince1970, in: db, database: database, createTombstone: false
            )
        }
    }
}
