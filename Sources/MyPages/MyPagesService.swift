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

    public static func build(
        settings: HotelServiceSettings, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let store = try ServiceDatabase(path: settings.databasePath(name), source: name, migrations: registerMigrations)
        let log = try settings.openEventLog(logger: logger)
        let projection = EventConsumer(
            group: name, log: log, store: store, types: [Booked.type, BookCanceled.type, PaymentApproved.type, PaymentCanceled.type],
            logger: logger, handler: project
        )
        return HotelService.application(
            name: name, settings: settings, store: store, eventLog: log, logger: logger, services: [projection], onServerRunning: onServerRunning
        ) { router in
            router.get("/mypages") { request, _ in try await list(request, store: store) }
            router.get("/mypages/:bookId") { _, context in try await find(RequestDecoding.id(context, "bookId"), store: store) }
        }
    }

    /// The read model's schema; the tests run the same migrations on a real file.
    static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("mypages-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE mypages (
                        book_id INTEGER PRIMARY KEY NOT NULL,
                        room_id INTEGER NOT NULL,
                        room_name TEXT NOT NULL,
                        guest_id INTEGER NOT NULL,
                        host_id INTEGER NOT NULL,
                        start_date TEXT NOT NULL,
                        end_date TEXT NOT NULL,
                        price INTEGER NOT NULL,
                        booking_status TEXT,
                        payment_status TEXT,
                        payment_id INTEGER,
                        updated_at REAL NOT NULL
                    );
                    CREATE INDEX mypages_guest ON mypages (guest_id);
                    CREATE INDEX mypages_host ON mypages (host_id);
                    """
            )
        }
    }

    /// Applies one event to its booking's row.
    @Sendable static func project(_ event: EventEnvelope, _ db: Database) throws {
        let booking: BookingDetails
        var bookingStatus: String?
        var paymentStatus: String?
        var paymentID: Int64?
        switch event.type {
        case Booked.type:
            let booked = try event.decode(Booked.self)
            (booking, bookingStatus, paymentID) = (booked.booking, "Booked", booked.paymentID)
        case BookCanceled.type:
            (booking, bookingStatus) = (try event.decode(BookCanceled.self).booking, "Canceled")
        case PaymentApproved.type:
            let paid = try event.decode(PaymentApproved.self)
            (booking, paymentStatus, paymentID) = (paid.booking, "Approved", paid.paymentID)
        case PaymentCanceled.type:
            let canceled = try event.decode(PaymentCanceled.self)
            (booking, paymentStatus, paymentID) = (canceled.booking, "Canceled", canceled.paymentID)
        default:
            return
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO mypages (book_id, room_id, room_name, guest_id, host_id, start_date, end_date, price,
                                     booking_status, payment_status, payment_id, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (book_id) DO UPDATE SET
                    booking_status = CASE WHEN mypages.booking_status = 'Canceled' THEN 'Canceled'
                                          ELSE COALESCE(excluded.booking_status, mypages.booking_status) END,
                    payment_status = CASE WHEN mypages.payment_status = 'Canceled' THEN 'Canceled'
                                          ELSE COALESCE(excluded.payment_status, mypages.payment_status) END,
                    payment_id = COALESCE(excluded.payment_id, mypages.payment_id),
                    updated_at = excluded.updated_at
                """
        ).execute(
            arguments: [
                booking.bookID, booking.roomID, booking.roomName, booking.guestID, booking.hostID, booking.startDate, booking.endDate,
                booking.price, bookingStatus, paymentStatus, paymentID, Date().timeIntervalSince1970,
            ]
        )
    }

    static func find(_ bookID: Int64, store: ServiceDatabase) async throws -> Response {
        guard let page = try await store.read({ db in
            try Row.fetchOne(db, sql: "SELECT * FROM mypages WHERE book_id = ?", arguments: [bookID]).map(MyPage.init(row:))
        }) else {
            throw APIError.notFound("no mypage entry for booking \(bookID) (yet)")
        }
        return JSONResponse.make(page)
    }

    /// `?guestId=` or `?hostId=`, newest booking first.
    static func list(_ request: Request, store: ServiceDatabase) async throws -> Response {
        let query = try RequestDecoding.query(MyPageList.self, from: request)
        let page = query.page
        let (column, value) = switch query.party {
        case .guest(let id): ("guest_id", id)
        case .host(let id): ("host_id", id)
        }
        let (items, total) = try await store.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM mypages WHERE \(column) = ?", arguments: [value]) ?? 0
            let items = try Row.fetchAll(
                db, sql: "SELECT * FROM mypages WHERE \(column) = ? ORDER BY book_id DESC LIMIT ? OFFSET ?", arguments: [value, page.size, page.offset]
            ).map(MyPage.init(row:))
            return (items, total)
        }
        return JSONResponse.make(PageOf(items: items, page: page, total: total))
    }
}
