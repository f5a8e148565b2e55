import EventBus
import Foundation
import HotelAPI
import HotelEvents
import Logging
import PortierTestSupport
import Testing
@testable import MyPages

/// The mypages projection on a real SQLite file and a real PostgreSQL schema: every order of a
/// booking's four events ends in the same row, because statuses only move forward and Canceled
/// is final.
@Suite struct ProjectionOrderTests {
    enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }

        /// A new, empty store made by the service's own migrations.
        func withStore(_ body: @Sendable (any MyPagesStore) async throws -> Void) async throws {
            switch self {
            case .sqlite:
                try await TemporaryDirectory.with { dir in try await body(try SQLiteMyPagesStore(path: dir.sub("mypages.sqlite"))) }
            case .postgres:
                let url = try PostgresURL(try await PostgresServer.database("mypages"))
                try await PostgresEventLog.with(url: url, logger: Logger(label: "mypages")) { log in try await body(PostgresMyPagesStore(log: log)) }
            }
        }
    }

    static func booking(_ id: Int64) -> BookingDetails {
        BookingDetails(bookID: id, roomID: 7, roomName: "Ocean view", guestID: 10, hostID: 3, startDate: "2026-12-24", endDate: "2026-12-27", price: 360)
    }

    /// Booked, PaymentApproved, BookCanceled and PaymentCanceled of one booking, each with an id of its own.
    static func events(_ id: Int64) throws -> [EventEnvelope] {
        let booking = booking(id)
        return [
            try EventEnvelope(Booked(booking: booking, paymentID: 5), source: "books"),
            try EventEnvelope(PaymentApproved(paymentID: 5, booking: booking, amount: 360), source: "payments"),
            try EventEnvelope(BookCanceled(booking: booking), source: "books"),
            try EventEnvelope(PaymentCanceled(paymentID: 5, booking: booking, amount: 360), source: "payments"),
        ]
    }

    static func permutations<T>(_ items: [T]) -> [[T]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { index -> [[T]] in
            var rest = items
            let first = rest.remove(at: index)
            return permutations(rest).map { [first] + $0 }
        }
    }

    /// Projects the events one batch each, as a consumer would, and reads the booking's row.
    static func project(_ events: [EventEnvelope], bookID: Int64, into store: any MyPagesStore) async throws -> MyPage {
        let sink = store.projection()
        for (offset, event) in events.enumerated() {
            let dead = try await sink.apply([StoredEvent(position: bookID * 10 + Int64(offset), envelope: event)], group: "mypages")
            #expect(dead.isEmpty, "\(dead)")
        }
        guard let page = try await store.find(bookID) else { throw ProjectionError("no mypages row for booking \(bookID) after \(events.map(\.type))") }
        return page
    }

    struct ProjectionError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test(arguments: Engine.allCases) func allTwentyFourOrdersEndCanceledAndCanceled(engine: Engine) async throws {
        try await engine.withStore { store in
            for (index, order) in Self.permutations([0, 1, 2, 3]).enumerated() {
                let bookID = Int64(index + 1)
                let events = try Self.events(bookID)
                let page = try await Self.project(order.map { events[$0] }, bookID: bookID, into: store)
                #expect(page.bookingStatus == "Canceled" && page.paymentStatus == "Canceled", "\(order)")
                #expect(page.paymentId == 5 && page.price == 360 && page.roomName == "Ocean view")
            }
        }
    }

    @Test(arguments: Engine.allCases) func paymentBeforeBookingStillEndsBookedAndApproved(engine: Engine) async throws {
        try await engine.withStore { store in
            let events = try Self.events(1)
            let page = try await Self.project([events[1], events[0]], bookID: 1, into: store)
            #expect(page.bookingStatus == "Booked" && page.paymentStatus == "Approved")
            let onlyPayment = try await Self.project([try Self.events(2)[1]], bookID: 2, into: store)
            #expect(onlyPayment.bookingStatus == nil && onlyPayment.paymentStatus == "Approved", "the row exists before Booked arrives")
        }
    }

    @Test(arguments: Engine.allCases) func aGuestsPageListsTheirBookingsNewestFirst(engine: Engine) async throws {
        try await engine.withStore { store in
            for bookID: Int64 in [1, 2, 3] { _ = try await Self.project([try Self.events(bookID)[0]], bookID: bookID, into: store) }
            let (pages, total) = try await store.list(try MyPageList(query: QueryItems(rawQuery: "guestId=10&size=2")))
            #expect(total == 3 && pages.map(\.bookId) == [3, 2])
            let (none, zero) = try await store.list(try MyPageList(query: QueryItems(rawQuery: "hostId=4")))
            #expect(none.isEmpty && zero == 0)
        }
    }
}
