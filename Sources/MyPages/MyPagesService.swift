import EventBus
import Foundation
import GRDB
import HotelEvents
import HotelSupport
import Hummingbird
import Logging
import PortierHTTP

/// One booking as guests and hosts see it on their page.
public struct MyPage: Codable, Sendable, Equatable {
    public var bookId: Int64
    public var roomId: Int64
    public var roomName: String
    public var guestId: Int64
    public var hostId: Int64
    public var startDate: String
    public var endDate: String
    public var price: Int64
    /// "Booked" or "Canceled"; nil until the Booked event arrived.
    public var bookingStatus: String?
    /// "Approved" or "Canceled"; nil until the payment event arrived.
    public var paymentStatus: String?
    public var paymentId: Int64?
    public var updatedAt: Date

    /// Throws on a value of the wrong type: a damaged file is an error response, not a trap.
    init(row: Row) throws {
        bookId = try row.decode(forColumn: "book_id")
        roomId = try row.decode(forColumn: "room_id")
        roomName = try row.decode(forColumn: "room_name")
        guestId = try row.decode(forColumn: "guest_id")
        hostId = try row.decode(forColumn: "host_id")
        startDate = try row.decode(forColumn: "start_date")
        endDate = try row.decode(forColumn: "end_date")
        price = try row.decode(forColumn: "price")
        bookingStatus = try row.decode(forColumn: "booking_status")
        paymentStatus = try row.decode(forColumn: "payment_status")
        paymentId = try row.decode(forColumn: "payment_id")
        updatedAt = Date(timeIntervalSince1970: try row.decode(forColumn: "updated_at"))
    }
}

/// The mypages service: a CQRS read model fed only by events (no calls to other services).
///
/// Events of one booking come from two services (books and payments), so they can arrive in
/// either order; each update only moves a status forward (Canceled is final), so any order ends
/// in the same row.
public enum MyPagesService {
    public static let name = "mypages"
    /// The service's schema in PostgreSQL (for `portier db migrate`).
    public static var postgresMigrator: PostgresMigrator { PostgresMyPagesStore.migrator }

    public static func build(
        settings: HotelServiceSettings, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let (log, store) = try settings.openStore(name, logger: logger) { path -> any MyPagesStore in
            try SQLiteMyPagesStore(path: path)
        } postgres: { PostgresMyPagesStore(log: $0) }
        let projection = EventConsumer(
            group: name, log: log, sink: store.projection(), types: [Booked.type, BookCanceled.type, PaymentApproved.type, PaymentCanceled.type],
            logger: logger
        )
        return HotelService.application(
            name: name, settings: settings, store: store.bus, eventLog: log, logger: logger, services: [projection], onServerRunning: onServerRunning
        ) { router in
            router.get("/mypages") { request, _ in try await list(request, store: store) }
            router.get("/mypages/:bookId") { _, context in try await find(RequestDecoding.id(context, "bookId"), store: store) }
        }
    }

    static func find(_ bookID: Int64, store: any MyPagesStore) async throws -> Response {
        guard let page = try await store.find(bookID) else { throw APIError.notFound("no mypage entry for booking \(bookID) (yet)") }
        return JSONResponse.make(page)
    }

    /// `?guestId=` or `?hostId=`, newest booking first.
    static func list(_ request: Request, store: any MyPagesStore) async throws -> Response {
        let query = try RequestDecoding.query(MyPageList.self, from: request)
        let (items, total) = try await store.list(query)
        return JSONResponse.make(PageOf(items: items, page: query.page, total: total))
    }
}
