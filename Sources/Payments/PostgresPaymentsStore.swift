import EventBus
import Foundation
import HotelEvents
import PostgresNIO

/// Payments in PostgreSQL, schema `portier_payments`. Replicas may take the same request at
/// once: the unique `book_id` decides, and the loser answers from the winner's row.
struct PostgresPaymentsStore: PaymentsStore {
    let database: PostgresServiceDatabase
    var bus: any ServiceStore { database }

    static let migrator = PostgresServiceDatabase.migrator(
        schema: "portier_payments",
        migrations: [
            .init(
                "payments-v1",
                [
                    """
                    CREATE TABLE portier_payments.payments (
                        id bigserial PRIMARY KEY,
                        book_id bigint NOT NULL UNIQUE,
                        guest_id bigint NOT NULL,
                        host_id bigint NOT NULL,
                        room_id bigint NOT NULL,
                        room_name text NOT NULL,
                        start_date text NOT NULL,
                        end_date text NOT NULL,
                        amount bigint NOT NULL,
                        status text NOT NULL,
                        created_at double precision NOT NULL,
                        canceled_at double precision
                    )
                    """,
                    "CREATE INDEX payments_guest ON portier_payments.payments (guest_id)",
                ]
            )
        ]
    )

    init(log: PostgresEventLog) {
        database = PostgresServiceDatabase(log: log, migrator: Self.migrator, source: PaymentsService.name)
    }

    func pay(_ input: PaymentRequest, at time: Double) async throws -> (payment: Payment, created: Bool) {
        let database = self.database
        return try await database.write { connection -> (Payment, Bool) in
            let logger = database.logger
            // Waits for a concurrent insert of the same booking to commit, then does nothing.
            if let payment = try await Payment.first(
                try await connection.query(
                    """
                    INSERT INTO payments (book_id, guest_id, host_id, room_id, room_name, start_date, end_date, amount, status, created_at)
                    VALUES (\(input.bookId), \(input.guestId), \(input.hostId), \(input.roomId), \(input.roomName), \(input.startDate), \(input.endDate),
                            \(input.amount), 'Approved', \(time))
                    ON CONFLICT (book_id) DO NOTHING RETURNING *
                    """,
                    logger: logger
                )
            ) {
                try await database.publish(try PaymentRules.approved(payment), on: connection)
                return (payment, true)
            }
            guard let existing = try await Payment.first(try await connection.query("SELECT * FROM payments WHERE book_id = \(input.bookId)", logger: logger))
            else { throw PaymentRules.vanished(input.bookId) }
            return (try PaymentRules.repeated(existing, input), false)
        }
    }

    func void(bookID: Int64, at time: Double) async throws -> Payment? {
        try await database.write { [database] connection in
            try await Self.cancel(bookID: bookID, at: time, on: connection, database: database, createTombstone: true)
        }
    }

    /// Cancels the payment of a booking once; a second cancel changes nothing and publishes nothing.
    static func cancel(
        bookID: Int64, at now: Double, on connection: PostgresConnection, database: PostgresServiceDatabase, createTombstone: Bool
    ) async throws -> Payment? {
        let logger = database.logger
        if createTombstone {
            // Either the tombstone goes in, or the payment that exists is locked for the update below.
            if let tombstone = try await Payment.first(
                try await connection.query(
                    """
                    INSERT INTO payments (book_id, guest_id, host_id, room_id, room_name, start_date, end_date, amount, status, created_at, canceled_at)
                    VALUES (\(bookID), 0, 0, 0, '', '', '', 0, 'Voided', \(now), \(now))
                    ON CONFLICT (book_id) DO NOTHING RETURNING *
                    """,
                    logger: logger
                )
            ) {
                return tombstone
            }
        }
        guard let payment = try await Payment.first(
            try await connection.query("SELECT * FROM payments WHERE book_id = \(bookID) FOR UPDATE", logger: logger)
        ) else { return nil }
        guard payment.status == "Approved" else { return payment }
        try await connection.query("UPDATE payments SET status = 'Canceled', canceled_at = \(now) WHERE id = \(payment.id)", logger: logger)
        let (canceled, event) = try PaymentRules.canceled(payment, at: now)
        try await database.publish(event, on: connection)
        return canceled
    }

    func find(_ id: Int64) async throws -> Payment? {
        try await database.read { [database] connection in
            try await Payment.first(try await connection.query("SELECT * FROM payments WHERE id = \(id)", logger: database.logger))
        }
    }

    func list(_ query: PaymentList) async throws -> (payments: [Payment], total: Int) {
        let (column, value) = PaymentRules.filter(query)
        let found: (records: [Payment], total: Int) = try await database.page(
            of: "payments", where: column, equals: value, newestFirstBy: "id", size: query.page.size, offset: query.page.offset
        )
        return (found.records, found.total)
    }

    func cancellations() -> any EventSink {
        database.sink { [database] event, connection in
            _ = try await Self.cancel(
                bookID: try event.decode(BookCanceled.self).booking.bookID, at: Date().timeIntervalSince1970, on: connection, database: database,
                createTombstone: false
            )
        }
    }
}

extension Payment: PostgresRecord {
    public init(postgres row: PostgresRandomAccessRow) throws {
        id = try row.value("id")
        bookId = try row.value("book_id")
        guestId = try row.value("guest_id")
        hostId = try row.value("host_id")
        roomId = try row.value("room_id")
        roomName = try row.value("room_name")
        startDate = try row.value("start_date")
        endDate = try row.value("end_date")
        amount = try row.value("amount")
        status = try row.value("status")
        createdAt = Date(timeIntervalSince1970: try row.value("created_at"))
        canceledAt = (try row.value("canceled_at", as: Double?.self)).map(Date.init(timeIntervalSince1970:))
    }
}
