import EventBus
import Foundation
import GRDB
import HotelAPI
import HotelEvents
import PostgresNIO

/// The mypages read model, fed only by events.
protocol MyPagesStore: Sendable {
    var bus: any ServiceStore { get }
    func find(_ bookID: Int64) async throws -> MyPage?
    func list(_ query: MyPageList) async throws -> (pages: [MyPage], total: Int)
    /// Applies Booked, BookCanceled, PaymentApproved and PaymentCanceled to their booking's row.
    func projection() -> any EventSink
}

/// What one event changes in its booking's row. Statuses only move forward (Canceled is final),
/// so the events of a booking, which come from two services, end in the same row in any order.
struct Projected: Sendable {
    var booking: BookingDetails
    var bookingStatus: String?
    var paymentStatus: String?
    var paymentID: Int64?

    /// nil for an event the read model does not follow.
    init?(_ event: EventEnvelope) throws {
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
            return nil
        }
    }

    /// The upsert, the same on both engines but for the placeholders.
    static func upsert(_ placeholder: (Int) -> String) -> String {
        let values = (1...12).map(placeholder).joined(separator: ", ")
        return """
            INSERT INTO mypages (book_id, room_id, room_name, guest_id, host_id, start_date, end_date, price,
                                 booking_status, payment_status, payment_id, updated_at)
            VALUES (\(values))
            ON CONFLICT (book_id) DO UPDATE SET
                booking_status = CASE WHEN mypages.booking_status = 'Canceled' THEN 'Canceled'
                                      ELSE COALESCE(excluded.booking_status, mypages.booking_status) END,
                payment_status = CASE WHEN mypages.payment_status = 'Canceled' THEN 'Canceled'
                                      ELSE COALESCE(excluded.payment_status, mypages.payment_status) END,
                payment_id = COALESCE(excluded.payment_id, mypages.payment_id),
                updated_at = excluded.updated_at
            """
    }

    static func party(_ query: MyPageList) -> (column: String, value: Int64) {
        switch query.party {
        case .guest(let id): ("guest_id", id)
        case .host(let id): ("host_id", id)
        }
    }
}

/// The read model in the service's SQLite file.
struct SQLiteMyPagesStore: MyPagesStore {
    let database: ServiceDatabase
    var bus: any ServiceStore { database }

    init(path: String) throws {
        database = try ServiceDatabase(path: path, source: MyPagesService.name) { migrator in
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
    }

    func find(_ bookID: Int64) async throws -> MyPage? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM mypages WHERE book_id = ?", arguments: [bookID]).map(MyPage.init(row:))
        }
    }

    func list(_ query: MyPageList) async throws -> (pages: [MyPage], total: Int) {
        let (column, value) = Projected.party(query)
        let found = try await database.page(
            of: "mypages", where: column, equals: value, newestFirstBy: "book_id", size: query.page.size, offset: query.page.offset, MyPage.init(row:)
        )
        return (found.records, found.total)
    }

    func projection() -> any EventSink {
        database.sink { event, db in
            guard let change = try Projected(event) else { return }
            let b = change.booking
            try db.cachedStatement(sql: Projected.upsert { _ in "?" }).execute(
                arguments: [
                    b.bookID, b.roomID, b.roomName, b.guestID, b.hostID, b.startDate, b.endDate, b.price,
                    change.bookingStatus, change.paymentStatus, change.paymentID, Date().timeIntervalSince1970,
                ]
            )
        }
    }
}

/// The read model in PostgreSQL, schema `portier_mypages`.
struct PostgresMyPagesStore: MyPagesStore {
    let database: PostgresServiceDatabase
    var bus: any ServiceStore { database }

    static let migrator = PostgresServiceDatabase.migrator(
        schema: "portier_mypages",
        migrations: [
            .init(
                "mypages-v1",
                [
                    """
                    CREATE TABLE portier_mypages.mypages (
                        book_id bigint PRIMARY KEY,
                        room_id bigint NOT NULL,
                        room_name text NOT NULL,
                        guest_id bigint NOT NULL,
                        host_id bigint NOT NULL,
                        start_date text NOT NULL,
                        end_date text NOT NULL,
                        price bigint NOT NULL,
                        booking_status text,
                        payment_status text,
                        payment_id bigint,
                        updated_at double precision NOT NULL
                    )
                    """,
                    "CREATE INDEX mypages_guest ON portier_mypages.mypages (guest_id)",
                    "CREATE INDEX mypages_host ON portier_mypages.mypages (host_id)",
                ]
            )
        ]
    )

    init(log: PostgresEventLog) {
        database = PostgresServiceDatabase(log: log, migrator: Self.migrator, source: MyPagesService.name)
    }

    func find(_ bookID: Int64) async throws -> MyPage? {
        try await database.read { [database] connection in
            try await MyPage.first(try await connection.query("SELECT * FROM mypages WHERE book_id = \(bookID)", logger: database.logger))
        }
    }

    func list(_ query: MyPageList) async throws -> (pages: [MyPage], total: Int) {
        let (column, value) = Projected.party(query)
        let found: (records: [MyPage], total: Int) = try await database.page(
            of: "mypages", where: column, equals: value, newestFirstBy: "book_id", size: query.page.size, offset: query.page.offset
        )
        return (found.records, found.total)
    }

    func projection() -> any EventSink {
        database.sink { [database] event, connection in
            guard let change = try Projected(event) else { return }
            let b = change.booking
            var binds = PostgresBindings()
            binds.append(b.bookID)
            binds.append(b.roomID)
            binds.append(b.roomName)
            binds.append(b.guestID)
            binds.append(b.hostID)
            binds.append(b.startDate)
            binds.append(b.endDate)
            binds.append(b.price)
            binds.append(change.bookingStatus)
            binds.append(change.paymentStatus)
            binds.append(change.paymentID)
            binds.append(Date().timeIntervalSince1970)
            try await connection.query(PostgresQuery(unsafeSQL: Projected.upsert { "$\($0)" }, binds: binds), logger: database.logger)
        }
    }
}

extension MyPage: PostgresRecord {
    public init(postgres row: PostgresRandomAccessRow) throws {
        bookId = try row.value("book_id")
        roomId = try row.value("room_id")
        roomName = try row.value("room_name")
        guestId = try row.value("guest_id")
        hostId = try row.value("host_id")
        startDate = try row.value("start_date")
        endDate = try row.value("end_date")
        price = try row.value("price")
        bookingStatus = try row.value("booking_status")
        paymentStatus = try row.value("payment_status")
        paymentId = try row.value("payment_id")
        updatedAt = Date(timeIntervalSince1970: try row.value("updated_at"))
    }
}
