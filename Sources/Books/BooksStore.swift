import EventBus
import Foundation
import GRDB
import HotelAPI
import HotelEvents
import PortierHTTP

/// What the books service keeps: bookings, holds on dates while a payment is under way, the
/// payments to void, and a replica of the rooms it learns from events.
protocol BooksStore: Sendable {
    var bus: any ServiceStore { get }
    /// Checks the room and the dates and holds them until `expiresAt`, with a guard that voids the
    /// payment if no booking is stored by its time. The hold's id becomes the booking's id.
    func placeHold(roomID: Int64, start: String, end: String, nights: Int, now: Double, expiresAt: Double, guardAt: Double) async throws -> Hold
    /// Turns the hold into a booking and publishes Booked, in one transaction. Refused if the
    /// payment's guard was already taken over for voiding, or if someone else booked the dates
    /// after this hold expired.
    func storeBooking(hold: Hold, payment: PaymentRequest, paymentID: Int64, guestID: Int64, at time: Double) async throws -> Book
    /// Drops the hold. Without a reason nothing was charged and the payment's guard goes too; with
    /// one, the guard becomes a void to do now.
    func releaseHold(_ bookID: Int64, voidReason: String?) async throws
    /// Voids due by `now`: (book id, attempts so far).
    func dueVoids(now: Double, limit: Int) async throws -> [(bookID: Int64, attempts: Int)]
    /// Takes a guard past its time over for voiding (so a late `storeBooking` is refused) unless
    /// the booking was stored after all; true when the payment is to be voided.
    func claimVoid(_ bookID: Int64) async throws -> Bool
    func voidDone(_ bookID: Int64) async throws
    func voidFailed(_ bookID: Int64, nextAttemptAt: Double) async throws
    func find(_ id: Int64) async throws -> Book?
    func list(_ query: BookList) async throws -> (books: [Book], total: Int)
    /// F9: cancels and publishes BookCanceled once; nil when there is no such booking.
    func cancel(_ id: Int64, at time: Double) async throws -> Book?
    /// Applies RoomRegistered and RoomDeleted to the replica of rooms.
    func roomReplica() -> any EventSink
}

struct Hold: Sendable {
    var bookID: Int64
    var room: (name: String, hostID: Int64, price: Int64)
    var nights: Int
}

/// The refusals and events both engines share.
enum BookingRules {
    static func noRoom(_ id: Int64) -> APIError { APIError.notFound("room \(id) does not exist") }
    static func deleted(_ id: Int64) -> APIError { APIError.conflict("room \(id) was deleted") }
    static func booked(_ id: Int64, _ start: String, _ end: String) -> APIError {
        APIError.conflict("room \(id) is already booked from \(start) to \(end)")
    }
    static func held(_ id: Int64) -> APIError { APIError.conflict("room \(id) is being booked by someone else for overlapping dates") }
    static func bookedMeanwhile(_ id: Int64, _ start: String, _ end: String) -> APIError {
        APIError.conflict("room \(id) was booked from \(start) to \(end) meanwhile")
    }
    static func beingVoided(_ bookID: Int64) -> PaymentClientError { PaymentClientError("the payment of booking \(bookID) is being voided") }
    static func vanished(_ bookID: Int64) -> PaymentClientError { PaymentClientError("booking \(bookID) vanished while it was stored") }
    static let guardReason = "payment never confirmed by a booking"

    static func canceled(_ book: Book, at time: Double) throws -> (Book, EventEnvelope) {
        var canceled = book
        canceled.status = "Canceled"
        canceled.canceledAt = Date(timeIntervalSince1970: time)
        return (canceled, try EventEnvelope(BookCanceled(booking: canceled.details), source: BooksService.name))
    }

    static func party(_ query: BookList) -> (column: String, value: Int64) {
        switch query.party {
        case .guest(let id): ("guest_id", id)
        case .host(let id): ("host_id", id)
        }
    }
}

/// Bookings in the service's SQLite file. SQLite runs one write transaction at a time, which is
/// what keeps two holds from overlapping.
struct SQLiteBooksStore: BooksStore {
    let database: ServiceDatabase
    var bus: any ServiceStore { database }

    init(path: String) throws {
        database = try ServiceDatabase(path: path, source: BooksService.name) { migrator in
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
    }

    func placeHold(roomID: Int64, start: String, end: String, nights: Int, now: Double, expiresAt: Double, guardAt: Double) async throws -> Hold {
        try await database.pool.write { db in
            guard let room = try Row.fetchOne(db.cachedStatement(sql: "SELECT name, host_id, price, deleted FROM rooms WHERE id = ?"), arguments: [roomID]) else {
                throw BookingRules.noRoom(roomID)
            }
            guard try room.decode(Int.self, forColumn: "deleted") == 0 else { throw BookingRules.deleted(roomID) }
            if let clash = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT start_date, end_date FROM books WHERE room_id = ? AND status = 'Booked' AND start_date < ? AND end_date > ? LIMIT 1"
                ),
                arguments: [roomID, end, start]
            ) {
                throw BookingRules.booked(roomID, try clash.decode(forColumn: "start_date"), try clash.decode(forColumn: "end_date"))
            }
            if try Row.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM holds WHERE room_id = ? AND expires_at > ? AND start_date < ? AND end_date > ? LIMIT 1"),
                arguments: [roomID, now, end, start]
            ) != nil {
                throw BookingRules.held(roomID)
            }
            try db.cachedStatement(sql: "INSERT INTO holds (room_id, start_date, end_date, expires_at) VALUES (?, ?, ?, ?)")
                .execute(arguments: [roomID, start, end, expiresAt])
            let bookID = db.lastInsertedRowID
            try db.cachedStatement(sql: "INSERT INTO pending_voids (book_id, reason, next_attempt_at, state) VALUES (?, ?, ?, 'guard')")
                .execute(arguments: [bookID, BookingRules.guardReason, guardAt])
            return Hold(
                bookID: bookID,
                room: (try room.decode(forColumn: "name"), try room.decode(forColumn: "host_id"), try room.decode(forColumn: "price")),
                nights: nights
            )
        }
    }

    func storeBooking(hold: Hold, payment: PaymentRequest, paymentID: Int64, guestID: Int64, at time: Double) async throws -> Book {
        let database = self.database
        return try await database.write { db in
            try db.cachedStatement(sql: "DELETE FROM pending_voids WHERE book_id = ? AND state = 'guard'").execute(arguments: [hold.bookID])
            guard db.changesCount == 1 else { throw BookingRules.beingVoided(hold.bookID) }
            if let clash = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT start_date, end_date FROM books WHERE room_id = ? AND status = 'Booked' AND start_date < ? AND end_date > ? LIMIT 1"
                ),
                arguments: [payment.roomId, payment.endDate, payment.startDate]
            ) {
                throw BookingRules.bookedMeanwhile(payment.roomId, try clash.decode(forColumn: "start_date"), try clash.decode(forColumn: "end_date"))
            }
            try db.cachedStatement(sql: "DELETE FROM holds WHERE id = ?").execute(arguments: [hold.bookID])
            try db.cachedStatement(
                sql: """
                    INSERT INTO books (id, room_id, room_name, guest_id, host_id, start_date, end_date, nights, price, status, payment_id, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'Booked', ?, ?)
                    """
            ).execute(
                arguments: [
                    hold.bookID, payment.roomId, payment.roomName, guestID, payment.hostId, payment.startDate, payment.endDate, hold.nights,
                    payment.amount, paymentID, time,
                ]
            )
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM books WHERE id = ?"), arguments: [hold.bookID]) else {
                throw BookingRules.vanished(hold.bookID)
            }
            let book = try Book(row: row)
            try database.publish(EventEnvelope(Booked(booking: book.details, paymentID: paymentID), source: database.source), in: db)
            return book
        }
    }

    func releaseHold(_ bookID: Int64, voidReason: String?) async throws {
        try await database.pool.write { db in
            try db.execute(sql: "DELETE FROM holds WHERE id = ?", arguments: [bookID])
            if let voidReason {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO pending_voids (book_id, reason, next_attempt_at, state) VALUES (?, ?, 0, 'due')",
                    arguments: [bookID, voidReason]
                )
            } else {
                try db.execute(sql: "DELETE FROM pending_voids WHERE book_id = ? AND state = 'guard'", arguments: [bookID])
            }
        }
    }

    func dueVoids(now: Double, limit: Int) async throws -> [(bookID: Int64, attempts: Int)] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT book_id, attempts FROM pending_voids WHERE next_attempt_at <= ? LIMIT ?", arguments: [now, limit])
                .map { (try $0.decode(forColumn: "book_id"), try $0.decode(forColumn: "attempts")) }
        }
    }

    func claimVoid(_ bookID: Int64) async throws -> Bool {
        try await database.pool.write { db -> Bool in
            try db.execute(
                sql: """
                    UPDATE pending_voids SET state = 'due' WHERE book_id = ? AND state = 'guard'
                    AND NOT EXISTS (SELECT 1 FROM books WHERE id = ?)
                    """,
                arguments: [bookID, bookID]
            )
            if db.changesCount == 1 { return true }
            // A booking that was stored after all keeps its payment, whatever queued the void.
            if try Row.fetchOne(db, sql: "SELECT 1 FROM books WHERE id = ?", arguments: [bookID]) != nil {
                try db.execute(sql: "DELETE FROM pending_voids WHERE book_id = ?", arguments: [bookID])
                return false
            }
            try db.execute(sql: "DELETE FROM pending_voids WHERE book_id = ? AND state = 'guard'", arguments: [bookID])
            return try Bool.fetchOne(db, sql: "SELECT 1 FROM pending_voids WHERE book_id = ? AND state = 'due'", arguments: [bookID]) ?? false
        }
    }

    func voidDone(_ bookID: Int64) async throws {
        try await database.pool.write { db in try db.execute(sql: "DELETE FROM pending_voids WHERE book_id = ?", arguments: [bookID]) }
    }

    func voidFailed(_ bookID: Int64, nextAttemptAt: Double) async throws {
        try await database.pool.write { db in
            try db.execute(
                sql: "UPDATE pending_voids SET attempts = attempts + 1, next_attempt_at = ? WHERE book_id = ?", arguments: [nextAttemptAt, bookID]
            )
        }
    }

    func find(_ id: Int64) async throws -> Book? {
        try await database.read { db in try Row.fetchOne(db, sql: "SELECT * FROM books WHERE id = ?", arguments: [id]).map(Book.init(row:)) }
    }

    func list(_ query: BookList) async throws -> (books: [Book], total: Int) {
        let (column, value) = BookingRules.party(query)
        let found = try await database.page(
            of: "books", where: column, equals: value, newestFirstBy: "id", size: query.page.size, offset: query.page.offset, Book.init(row:)
        )
        return (found.records, found.total)
    }

    func cancel(_ id: Int64, at time: Double) async throws -> Book? {
        let database = self.database
        return try await database.write { db -> Book? in
            guard let book = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM books WHERE id = ?"), arguments: [id]).map(Book.init(row:)) else {
                return nil
            }
            guard book.status == "Booked" else { return book }
            try db.cachedStatement(sql: "UPDATE books SET status = 'Canceled', canceled_at = ? WHERE id = ?").execute(arguments: [time, id])
            let (canceled, event) = try BookingRules.canceled(book, at: time)
            try database.publish(event, in: db)
            return canceled
        }
    }

    func roomReplica() -> any EventSink {
        database.sink { event, db in
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
}
