import EventBus
import Foundation
import GRDB
import HotelEvents
import HotelSupport
import Hummingbird
import Logging
import HotelAPI
import PortierHTTP

/// The booking rules.
struct BookingDesk: Sendable {
    let store: ServiceDatabase
    let payments: PaymentClient
    /// How long a hold may outlive a crashed request before other guests may book the dates.
    let holdSeconds: Double
    let logger: Logger
    let voidWakeup = Wakeup()

    struct Hold: Sendable {
        var bookID: Int64
        var room: (name: String, hostID: Int64, price: Int64)
        var nights: Int
    }

    func book(_ request: Request) async throws -> Response {
        let input = try await RequestDecoding.body(NewBook.self, from: request)
        let (start, end, nights) = (input.start, input.end, input.nights)
        guard start >= CalendarDate.today() else { throw APIError.badRequest("startDate \(start) is in the past") }

        let hold = try await placeHold(roomID: input.roomId, start: start, end: end, nights: nights)
        // The room's price came from an event; a price that overflows is refused, not wrapped.
        let (price, overflow) = hold.room.price.multipliedReportingOverflow(by: Int64(nights))
        guard !overflow, price > 0 else {
            try await releaseHold(hold.bookID, voidReason: nil)
            throw APIError(.unprocessableContent, "invalid_price", "room \(input.roomId) has no valid price for \(nights) nights")
        }
        let payment = PaymentRequest(
            bookId: hold.bookID, guestId: input.guestId, hostId: hold.room.hostID, roomId: input.roomId, roomName: hold.room.name,
            startDate: start.description, endDate: end.description, amount: price
        )

        switch await payments.pay(payment) {
        case .approved(let paymentID):
            do {
                let book = try await store(hold: hold, payment: payment, paymentID: paymentID, guestID: input.guestId, nights: nights)
                return JSONResponse.make(status: .created, book, headers: [.location: "/books/\(book.id)"])
            } catch let error as APIError where error.status == .conflict {
                try await releaseHold(hold.bookID, voidReason: "the dates were taken meanwhile")
                throw APIError.conflict("\(error.message); the payment is being cancelled")
            } catch {
                logger.error("booking not stored after payment; voiding it", metadata: ["book_id": .stringConvertible(hold.bookID), "error": .string("\(error)")])
                try await releaseHold(hold.bookID, voidReason: "booking could not be stored")
                throw APIError.serviceUnavailable("the booking could not be stored; its payment is being cancelled, please try again", retryAfter: 1)
            }
        case .declined(let reason):
            try await releaseHold(hold.bookID, voidReason: nil)
            throw APIError(.init(code: 402, reasonPhrase: "Payment Required"), "payment_declined", "the payment was declined: \(reason)")
        case .unavailable(let retryAfter):
            try await releaseHold(hold.bookID, voidReason: nil)
            throw APIError.serviceUnavailable("payment is busy, please try again in a moment", retryAfter: retryAfter)
        case .uncertain(let retryAfter):
            try await releaseHold(hold.bookID, voidReason: "payment outcome unknown")
            throw APIError.serviceUnavailable("payment is busy, please try again in a moment", retryAfter: retryAfter)
        }
    }

    /// Checks the room and the dates and holds them; the hold's id becomes the booking's id.
    private func placeHold(roomID: Int64, start: CalendarDate, end: CalendarDate, nights: Int) async throws -> Hold {
        let now = Date().timeIntervalSince1970
        return try await store.pool.write { db in
            guard let room = try Row.fetchOne(db.cachedStatement(sql: "SELECT name, host_id, price, deleted FROM rooms WHERE id = ?"), arguments: [roomID]) else {
                throw APIError.notFound("room \(roomID) does not exist")
            }
            guard (room["deleted"] as Int) == 0 else { throw APIError.conflict("room \(roomID) was deleted") }
            let (startText, endText) = (start.description, end.description)
            if let clash = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT start_date, end_date FROM books WHERE room_id = ? AND status = 'Booked' AND start_date < ? AND end_date > ? LIMIT 1"
                ),
                arguments: [roomID, endText, startText]
            ) {
                throw APIError.conflict("room \(roomID) is already booked from \(clash["start_date"] as String) to \(clash["end_date"] as String)")
            }
            if try Row.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM holds WHERE room_id = ? AND expires_at > ? AND start_date < ? AND end_date > ? LIMIT 1"),
                arguments: [roomID, now, endText, startText]
            ) != nil {
                throw APIError.conflict("room \(roomID) is being booked by someone else for overlapping dates")
            }
            try db.cachedStatement(sql: "INSERT INTO holds (room_id, start_date, end_date, expires_at) VALUES (?, ?, ?, ?)")
                .execute(arguments: [roomID, startText, endText, now + holdSeconds])
            let bookID = db.lastInsertedRowID
            try db.cachedStatement(
                sql: "INSERT INTO pending_voids (book_id, reason, next_attempt_at, state) VALUES (?, 'payment never confirmed by a booking', ?, 'guard')"
            ).execute(arguments: [bookID, now + holdSeconds + 5])
            return Hold(bookID: bookID, room: (room["name"], room["host_id"], room["price"]), nights: nights)
        }
    }

    /// Turns the hold into a booking and publishes Booked, in one transaction. Refused if the
    /// payment's guard was already taken over for voiding, or if someone else booked the dates
    /// after this hold expired.
    private func store(hold: Hold, payment: PaymentRequest, paymentID: Int64, guestID: Int64, nights: Int) async throws -> Book {
        let store = self.store
        return try await store.write { db in
            try db.cachedStatement(sql: "DELETE FROM pending_voids WHERE book_id = ? AND state = 'guard'").execute(arguments: [hold.bookID])
            guard db.changesCount == 1 else { throw PaymentClientError("the payment of booking \(hold.bookID) is being voided") }
            if let clash = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT start_date, end_date FROM books WHERE room_id = ? AND status = 'Booked' AND start_date < ? AND end_date > ? LIMIT 1"
                ),
                arguments: [payment.roomId, payment.endDate, payment.startDate]
            ) {
                throw APIError.conflict("room \(payment.roomId) was booked from \(clash["start_date"] as String) to \(clash["end_date"] as String) meanwhile")
            }
            try db.cachedStatement(sql: "DELETE FROM holds WHERE id = ?").execute(arguments: [hold.bookID])
            try db.cachedStatement(
                sql: """
                    INSERT INTO books (id, room_id, room_name, guest_id, host_id, start_date, end_date, nights, price, status, payment_id, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'Booked', ?, ?)
                    """
            ).execute(
                arguments: [
                    hold.bookID, payment.roomId, payment.roomName, guestID, payment.hostId, payment.startDate, payment.endDate, nights,
                    payment.amount, paymentID, Date().timeIntervalSince1970,
                ]
            )
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM books WHERE id = ?"), arguments: [hold.bookID]) else {
                throw PaymentClientError("booking \(hold.bookID) vanished while it was stored")
            }
            let book = try Book(row: row)
            try store.publish(EventEnvelope(Booked(booking: book.details, paymentID: paymentID), source: store.source), in: db)
            return book
        }
    }

    /// Drops the hold. Without a reason nothing was charged and the payment's guard goes too; with
    /// one, the guard becomes a void to do now.
    private func releaseHold(_ bookID: Int64, voidReason: String?) async throws {
        try await store.pool.write { db in
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
        if voidReason != nil { voidWakeup.signal() }
    }

    /// Voids the payments queued by `releaseHold`; failures are retried with backoff (up to 30 s apart).
    func retryVoids() async {
        let now = Date().timeIntervalSince1970
        guard let due = try? await store.read({ db -> [(Int64, Int)] in
            try Row.fetchAll(db, sql: "SELECT book_id, attempts FROM pending_voids WHERE next_attempt_at <= ? LIMIT 50", arguments: [now])
                .map { ($0["book_id"], $0["attempts"]) }
        }) else { return }
        for (bookID, attempts) in due {
            // A guard past its time means the booking request died between paying and storing.
            // Take it over (so a late store() is refused) unless the booking made it after all.
            let claimed = try? await store.pool.write { db -> Bool in
                try db.execute(
                    sql: """
                        UPDATE pending_voids SET state = 'due' WHERE book_id = ? AND state = 'guard'
                        AND NOT EXISTS (SELECT 1 FROM books WHERE id = ?)
                        """,
                    arguments: [bookID, bookID]
                )
                if db.changesCount == 1 { return true }
                try db.execute(sql: "DELETE FROM pending_voids WHERE book_id = ? AND state = 'guard'", arguments: [bookID])
                return try Bool.fetchOne(db, sql: "SELECT 1 FROM pending_voids WHERE book_id = ? AND state = 'due'", arguments: [bookID]) ?? false
            }
            guard claimed == true else { continue }
            do {
                try await payments.void(bookID: bookID)
                _ = try? await store.pool.write { db in try db.execute(sql: "DELETE FROM pending_voids WHERE book_id = ?", arguments: [bookID]) }
                logger.info("payment voided", metadata: ["book_id": .stringConvertible(bookID)])
            } catch {
                let delay = min(30.0, pow(2.0, Double(attempts)))
                _ = try? await store.pool.write { db in
                    try db.execute(
                        sql: "UPDATE pending_voids SET attempts = attempts + 1, next_attempt_at = ? WHERE book_id = ?",
                        arguments: [Date().timeIntervalSince1970 + delay, bookID]
                    )
                }
                if attempts == 0 || attempts % 10 == 0 {
                    logger.warning("cannot void payment yet; will retry", metadata: ["book_id": .stringConvertible(bookID), "error": .string("\(error)")])
                }
            }
        }
    }

    func find(_ id: Int64) async throws -> Response {
        guard let book = try await store.read({ db in
            try Row.fetchOne(db, sql: "SELECT * FROM books WHERE id = ?", arguments: [id]).map(Book.init(row:))
        }) else {
            throw APIError.notFound("booking \(id) does not exist")
        }
        return JSONResponse.make(book)
    }

    /// F8: `?guestId=` (or `?hostId=`), newest first.
    func list(_ request: Request) async throws -> Response {
        let query = try RequestDecoding.query(BookList.self, from: request)
        let page = query.page
        let (column, value) = switch query.party {
        case .guest(let id): ("guest_id", id)
        case .host(let id): ("host_id", id)
        }
        let (books, total) = try await store.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM books WHERE \(column) = ?", arguments: [value]) ?? 0
            let books = try Row.fetchAll(
                db, sql: "SELECT * FROM books WHERE \(column) = ? ORDER BY id DESC LIMIT ? OFFSET ?", arguments: [value, page.size, page.offset]
            ).map(Book.init(row:))
            return (books, total)
        }
        return JSONResponse.make(PageOf(items: books, page: page, total: total))
    }

    /// F9: cancelling twice is harmless: the second time changes and publishes nothing.
    func cancel(_ id: Int64) async throws -> Response {
        let store = self.store
        let book = try await store.write { db -> Book in
            guard var book = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM books WHERE id = ?"), arguments: [id]).map(Book.init(row:)) else {
                throw APIError.notFound("booking \(id) does not exist")
            }
            guard book.status == "Booked" else { return book }
            let now = Date().timeIntervalSince1970
            try db.cachedStatement(sql: "UPDATE books SET status = 'Canceled', canceled_at = ? WHERE id = ?").execute(arguments: [now, id])
            book.status = "Canceled"
            book.canceledAt = Date(timeIntervalSince1970: now)
            try store.publish(EventEnvelope(BookCanceled(booking: book.details), source: store.source), in: db)
            return book
        }
        return JSONResponse.make(book)
    }
}
