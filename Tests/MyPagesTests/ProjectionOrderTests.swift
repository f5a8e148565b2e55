import EventBus
import Foundation
import GRDB
import HotelEvents
import Testing
@testable import MyPages

/// The mypages projection on a real SQLite file: every order of a booking's four events ends in
/// the same row, because statuses only move forward and Canceled is final.
@Suite struct ProjectionOrderTests {
    static let booking = BookingDetails(
        bookID: 42, roomID: 7, roomName: "Ocean view", guestID: 10, hostID: 3, startDate: "2026-12-24", endDate: "2026-12-27", price: 360
    )

    static let events: [EventEnvelope] = [
        try! EventEnvelope(Booked(booking: booking, paymentID: 5), source: "books"),
        try! EventEnvelope(PaymentApproved(paymentID: 5, booking: booking, amount: 360), source: "payments"),
        try! EventEnvelope(BookCanceled(booking: booking), source: "books"),
        try! EventEnvelope(PaymentCanceled(paymentID: 5, booking: booking, amount: 360), source: "payments"),
    ]

    static func permutations<T>(_ items: [T]) -> [[T]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { index -> [[T]] in
            var rest = items
            let first = rest.remove(at: index)
            return permutations(rest).map { [first] + $0 }
        }
    }

    /// Projects the events into a fresh SQLite file made by the service's own migrations.
    func project(_ events: [EventEnvelope]) throws -> MyPage {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mypages-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ServiceDatabase(
            path: directory.appendingPathComponent("mypages.sqlite").path, source: "mypages", migrations: MyPagesService.registerMigrations
        )
        let row = try store.pool.write { db -> Row? in
            for event in events { try MyPagesService.project(event, db) }
            return try Row.fetchOne(db, sql: "SELECT * FROM mypages WHERE book_id = 42")
        }
        guard let row else { throw ProjectionError("no mypages row for booking 42 after \(events.map(\.type))") }
        return try MyPage(row: row)
    }

    struct ProjectionError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test func allTwentyFourOrdersEndCanceledAndCanceled() throws {
        for order in Self.permutations(Self.events) {
            let page = try project(order)
            #expect(page.bookingStatus == "Canceled" && page.paymentStatus == "Canceled", "\(order.map(\.type))")
            #expect(page.paymentId == 5 && page.price == 360 && page.roomName == "Ocean view")
        }
    }

    @Test func paymentBeforeBookingStillEndsBookedAndApproved() throws {
        let page = try project([Self.events[1], Self.events[0]])
        #expect(page.bookingStatus == "Booked" && page.paymentStatus == "Approved")
        let onlyPayment = try project([Self.events[1]])
        #expect(onlyPayment.bookingStatus == nil && onlyPayment.paymentStatus == "Approved", "the row exists before Booked arrives")
    }
}
