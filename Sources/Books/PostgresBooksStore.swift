import EventBus
import Foundation
import HotelAPI
import HotelEvents
import PostgresNIO

/// Bookings in PostgreSQL, schema `portier_books`. Replicas of books share it: placing a hold
/// and storing a booking lock the room's row first, so two replicas never both find the same
/// dates free.
struct PostgresBooksStore: BooksStore {
    let database: PostgresServiceDatabase
    var bus: any ServiceStore { database }

    static let migrator = PostgresServiceDatabase.migrator(
        schema: "portier_books",
        migrations: [
            .init(
                "books-v1",
                [
                    """
                    CREATE TABLE portier_books.rooms (
                        id bigint PRIMARY KEY,
                        name text NOT NULL,
                        host_id bigint NOT NULL,
                        price bigint NOT NULL,
                        deleted boolean NOT NULL DEFAULT false
                    )
                    """,
                    """
                    CREATE TABLE portier_books.holds (
                        id bigserial PRIMARY KEY,
                        room_id bigint NOT NULL,
                        start_date text NOT NULL,
                        end_date text NOT NULL,
                        expires_at double precision NOT NULL
                    )
                    """,
                    "CREATE INDEX holds_room ON portier_books.holds (room_id)",
                    """
                    CREATE TABLE portier_books.books (
                        id bigint PRIMARY KEY,
                        room_id bigint NOT NULL,
                        room_name text NOT NULL,
                        guest_id bigint NOT NULL,
                        host_id bigint NOT NULL,
                        start_date text NOT NULL,
                        end_date text NOT NULL,
                        nights bigint NOT NULL,
                        price bigint NOT NULL,
                        status text NOT NULL,
                        payment_id bigint NOT NULL,
                        created_at double precision NOT NULL,
                        canceled_at double precision
                    )
                    """,
                    "CREATE INDEX books_room ON portier_books.books (room_id, status, end_date)",
                    "CREATE INDEX books_guest ON portier_books.books (guest_id)",
                    "CREATE INDEX books_host ON portier_books.books (host_id)",
                    """
                    CREATE TABLE portier_books.pending_voids (
                        book_id bigint PRIMARY KEY,
                        reason text NOT NULL,
                        attempts bigint NOT NULL DEFAULT 0,
                        next_attempt_at double precision NOT NULL,
                        state text NOT NULL DEFAULT 'due'
                    )
                    """,
                ]
            )
        ]
    )

    init(log: PostgresEventLog) {
        database = PostgresServiceDatabase(log: log, migrator: Self.migrator, source: BooksService.name)
    }

    /// The first booking of the room overlapping the dates, if any.
    static func clash(room: Int64, start: String, end: String, on connection: PostgresConnection, logger: Logger) async throws -> (String, String)? {
        for try await dates in try await connection.query(
            "SELECT start_date, end_date FROM books WHERE room_id = \(room) AND status = 'Booked' AND start_date < \(end) AND end_date > \(start) LIMIT 1",
            logger: logger
        ).decode((String, String).self) {
            return dates
        }
        return nil
    }

    func placeHold(roomID: Int64, start: String, end: String, nights: Int, now: Double, expiresAt: Double, guardAt: Double) async throws -> Hold {
        try await database.write { [database] connection in
            let logger = database.logger
            var found: (String, Int64, Int64, Bool)?
            for try await room in try await connection.query(
                "SELECT name, host_id, price, deleted FROM rooms WHERE id = \(roomID) FOR UPDATE", logger: logger
            ).decode((String, Int64, Int64, Bool).self) {
                found = room
            }
            guard let (name, hostID, price, deleted) = found else { throw BookingRules.noRoom(roomID) }
            guard !deleted else { throw BookingRules.deleted(roomID) }
            if let (from, to) = try await Self.clash(room: roomID, start: start, end: end, on: connection, logger: logger) {
                throw BookingRules.booked(roomID, from, to)
            }
            guard try await !connection.query(
                "SELECT 1 FROM holds WHERE room_id = \(roomID) AND expires_at > \(now) AND start_date < \(end) AND end_date > \(start) LIMIT 1", logger: logger
            ).any() else {
                throw BookingRules.held(roomID)
            }
            guard let bookID = try await connection.query(
                "INSERT INTO holds (room_id, start_date, end_date, expires_at) VALUES (\(roomID), \(start), \(end), \(expiresAt)) RETURNING id", logger: logger
            ).single(Int64.self) else { throw BookingRules.vanished(0) }
            try await connection.query(
                "INSERT INTO pending_voids (book_id, reason, next_attempt_at, state) VALUES (\(bookID), \(BookingRules.guardReason), \(guardAt), 'guard')",
                logger: logger
            )
            return Hold(bookID: bookID, room: (name, hostID, price), nights: nights)
        }
    }

    func storeBooking(hold: Hold, payment: PaymentRequest, paymentID: Int64, guestID: Int64, at time: Double) async throws -> Book {
        let database = self.database
        return try await database.write { connection in
            let logger = database.logger
            try await connection.query("SELECT 1 FROM rooms WHERE id = \(payment.roomId) FOR UPDATE", logger: logger)
            guard try await connection.query(
                "DELETE FROM pending_voids WHERE book_id = \(hold.bookID) AND state = 'guard' RETURNING 1", logger: logger
            ).any() else {
                throw BookingRules.beingVoided(hold.bookID)
            }
            if let (from, to) = try await Self.clash(room: payment.roomId, start: payment.startDate, end: payment.endDate, on: connection, logger: logger) {
                throw BookingRules.bookedMeanwhile(payment.roomId, from, to)
            }
            try await connection.query("DELETE FROM holds WHERE id = \(hold.bookID)", logger: logger)
            guard let book = try await Book.first(
                try await connection.query(
                    """
                    INSERT INTO books (id, room_id, room_name, guest_id, host_id, start_date, end_date, nights, price, status, payment_id, created_at)
                    VALUES (\(hold.bookID), \(payment.roomId), \(payment.roomName), \(guestID), \(payment.hostId), \(payment.startDate), \(payment.endDate),
                            \(Int64(hold.nights)), \(payment.amount), 'Booked', \(paymentID), \(time))
                    RETURNING *
                    """,
                    logger: logger
                )
            ) else { throw BookingRules.vanished(hold.bookID) }
            try await database.publish(EventEnvelope(Booked(booking: book.details, paymentID: paymentID), source: database.source), on: connection)
            return book
        }
    }

    func releaseHold(_ bookID: Int64, voidReason: String?) async throws {
        try await database.write { [database] connection in
            let logger = database.logger
            try await connection.query("DELETE FROM holds WHERE id = \(bookID)", logger: logger)
            if let voidReason {
                try await connection.query(
                    """
                    INSERT INTO pending_voids (book_id, reason, next_attempt_at, state) VALUES (\(bookID), \(voidReason), 0, 'due')
                    ON CONFLICT (book_id) DO UPDATE SET reason = excluded.reason, attempts = 0, next_attempt_at = 0, state = 'due'
                    """,
                    logger: logger
                )
            } else {
                try await connection.query("DELETE FROM pending_voids WHERE book_id = \(bookID) AND state = 'guard'", logger: logger)
            }
        }
    }

    func dueVoids(now: Double, limit: Int) async throws -> [(bookID: Int64, attempts: Int)] {
        try await database.read { [database] connection in
            var due: [(Int64, Int)] = []
            for try await (bookID, attempts) in try await connection.query(
                "SELECT book_id, attempts FROM pending_voids WHERE next_attempt_at <= \(now) LIMIT \(Int64(limit))", logger: database.logger
            ).decode((Int64, Int64).self) {
                due.append((bookID, Int(attempts)))
            }
            return due
        }
    }

    func claimVoid(_ bookID: Int64) async throws -> Bool {
        try await database.write { [database] connection -> Bool in
            let logger = database.logger
            if try await connection.query(
                """
                UPDATE pending_voids SET state = 'due' WHERE book_id = \(bookID) AND state = 'guard'
                AND NOT EXISTS (SELECT 1 FROM books WHERE id = \(bookID)) RETURNING 1
                """,
                logger: logger
            ).any() {
                return true
            }
            // A booking that was stored after all keeps its payment, whatever queued the void (a
            // store whose commit outlived its caller's deadline, say): only bookings that never
            // made it are voided.
            if try await connection.query("SELECT 1 FROM books WHERE id = \(bookID)", logger: logger).any() {
                try await connection.query("DELETE FROM pending_voids WHERE book_id = \(bookID)", logger: logger)
                return false
            }
            try await connection.query("DELETE FROM pending_voids WHERE book_id = \(bookID) AND state = 'guard'", logger: logger)
            return try await connection.query("SELECT 1 FROM pending_voids WHERE book_id = \(bookID) AND state = 'due'", logger: logger).any()
        }
    }

    func voidDone(_ bookID: Int64) async throws {
        try await database.write { [database] connection in
            try await connection.query("DELETE FROM pending_voids WHERE book_id = \(bookID)", logger: database.logger)
        }
    }

    func voidFailed(_ bookID: Int64, nextAttemptAt: Double) async throws {
        try await database.write { [database] connection in
            try await connection.query(
                "UPDATE pending_voids SET attempts = attempts + 1, next_attempt_at = \(nextAttemptAt) WHERE book_id = \(bookID)", logger: database.logger
            )
        }
    }

    func find(_ id: Int64) async throws -> Book? {
        try await database.read { [database] connection in
            try await Book.first(try await connection.query("SELECT * FROM books WHERE id = \(id)", logger: database.logger))
        }
    }

    func list(_ query: BookList) async throws -> (books: [Book], total: Int) {
        let (column, value) = BookingRules.party(query)
        let found: (records: [Book], total: Int) = try await database.page(
            of: "books", where: column, equals: value, newestFirstBy: "id", size: query.page.size, offset: query.page.offset
        )
        return (found.records, found.total)
    }

    func cancel(_ id: Int64, at time: Double) async throws -> Book? {
        let database = self.database
        return try await database.write { connection -> Book? in
            let logger = database.logger
            guard let book = try await Book.first(try await connection.query("SELECT * FROM books WHERE id = \(id) FOR UPDATE", logger: logger)) else {
                return nil
            }
            guard book.status == "Booked" else { return book }
            try await connection.query("UPDATE books SET status = 'Canceled', canceled_at = \(time) WHERE id = \(id)", logger: logger)
            let (canceled, event) = try BookingRules.canceled(book, at: time)
            try await database.publish(event, on: connection)
            return canceled
        }
    }

    func roomReplica() -> any EventSink {
        database.sink { [database] event, connection in
            switch event.type {
            case RoomRegistered.type:
                let room = try event.decode(RoomRegistered.self)
                try await connection.query(
                    """
                    INSERT INTO rooms (id, name, host_id, price) VALUES (\(room.roomID), \(room.name), \(room.hostID), \(room.price))
                    ON CONFLICT (id) DO NOTHING
                    """,
                    logger: database.logger
                )
            case RoomDeleted.type:
                try await connection.query("UPDATE rooms SET deleted = true WHERE id = \(try event.decode(RoomDeleted.self).roomID)", logger: database.logger)
            default:
                break
            }
        }
    }
}

extension Book: PostgresRecord {
    public init(postgres row: PostgresRandomAccessRow) throws {
        id = try row.value("id")
        roomId = try row.value("room_id")
        roomName = try row.value("room_name")
        guestId = try row.value("guest_id")
        hostId = try row.value("host_id")
        startDate = try row.value("start_date")
        endDate = try row.value("end_date")
        nights = Int(try row.value("nights", as: Int64.self))
        price = try row.value("price")
        status = try row.value("status")
        paymentId = try row.value("payment_id")
        createdAt = Date(timeIntervalSince1970: try row.value("created_at"))
        canceledAt = (try row.value("canceled_at", as: Double?.self)).map(Date.init(timeIntervalSince1970:))
    }
}
