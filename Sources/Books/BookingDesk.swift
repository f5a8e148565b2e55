import EventBus
import Foundation
import HotelEvents
import HotelSupport
import Hummingbird
import Logging
import HotelAPI
import PortierHTTP

/// The booking rules.
struct BookingDesk: Sendable {
    let store: any BooksStore
    let payments: PaymentClient
    /// How long a hold may outlive a crashed request before other guests may book the dates.
    let holdSeconds: Double
    let logger: Logger
    let voidWakeup = Wakeup()

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
        return try await store.placeHold(
            roomID: roomID, start: start.description, end: end.description, nights: nights, now: now, expiresAt: now + holdSeconds,
            guardAt: now + holdSeconds + 5
        )
    }

    private func store(hold: Hold, payment: PaymentRequest, paymentID: Int64, guestID: Int64, nights: Int) async throws -> Book {
        try await store.storeBooking(hold: hold, payment: payment, paymentID: paymentID, guestID: guestID, at: Date().timeIntervalSince1970)
    }

    private func releaseHold(_ bookID: Int64, voidReason: String?) async throws {
        try await store.releaseHold(bookID, voidReason: voidReason)
        if voidReason != nil { voidWakeup.signal() }
    }

    /// Voids the payments queued by `releaseHold`; failures are retried with backoff (up to 30 s apart).
    func retryVoids() async {
        guard let due = try? await store.dueVoids(now: Date().timeIntervalSince1970, limit: 50) else { return }
        for (bookID, attempts) in due {
            // A guard past its time means the booking request died between paying and storing.
            // Take it over (so a late store() is refused) unless the booking made it after all.
            guard (try? await store.claimVoid(bookID)) == true else { continue }
            do {
                try await payments.void(bookID: bookID)
                try? await store.voidDone(bookID)
                logger.info("payment voided", metadata: ["book_id": .stringConvertible(bookID)])
            } catch {
                let delay = min(30.0, pow(2.0, Double(attempts)))
                try? await store.voidFailed(bookID, nextAttemptAt: Date().timeIntervalSince1970 + delay)
                if attempts == 0 || attempts % 10 == 0 {
                    logger.warning("cannot void payment yet; will retry", metadata: ["book_id": .stringConvertible(bookID), "error": .string("\(error)")])
                }
            }
        }
    }

    func find(_ id: Int64) async throws -> Response {
        guard let book = try await store.find(id) else { throw APIError.notFound("booking \(id) does not exist") }
        return JSONResponse.make(book)
    }

    /// F8: `?guestId=` (or `?hostId=`), newest first.
    func list(_ request: Request) async throws -> Response {
        let query = try RequestDecoding.query(BookList.self, from: request)
        let (books, total) = try await store.list(query)
        return JSONResponse.make(PageOf(items: books, page: query.page, total: total))
    }

    /// F9: cancelling twice is harmless: the second time changes and publishes nothing.
    func cancel(_ id: Int64) async throws -> Response {
        guard let book = try await store.cancel(id, at: Date().timeIntervalSince1970) else { throw APIError.notFound("booking \(id) does not exist") }
        return JSONResponse.make(book)
    }
}
