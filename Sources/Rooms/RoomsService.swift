import EventBus
import Foundation
import GRDB
import Hummingbird
import HotelEvents
import HotelSupport
import Logging
import PortierHTTP
import ServiceLifecycle

/// The rooms service (F1 register, F2 delete, F3 search). It keeps a calendar of bookings from
/// Booked and BookCanceled events, to search free rooms and to refuse deleting booked ones.
public enum RoomsService {
    public static let name = "rooms"

    public static func build(
        settings: HotelServiceSettings, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let store = try ServiceDatabase(path: settings.databasePath(name), source: name) { migrator in
            migrator.registerMigration("rooms-v1") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE rooms (
                            id INTEGER PRIMARY KEY AUTOINCREMENT,
                            name TEXT NOT NULL,
                            host_id INTEGER NOT NULL,
                            price INTEGER NOT NULL,
                            capacity INTEGER NOT NULL,
                            created_at REAL NOT NULL,
                            deleted_at REAL
                        );
                        CREATE INDEX rooms_host ON rooms (host_id);
                        CREATE TABLE room_bookings (
                            book_id INTEGER PRIMARY KEY NOT NULL,
                            room_id INTEGER NOT NULL,
                            start_date TEXT NOT NULL,
                            end_date TEXT NOT NULL,
                            canceled INTEGER NOT NULL DEFAULT 0
                        );
                        CREATE INDEX room_bookings_room ON room_bookings (room_id, end_date);
                        """
                )
            }
        }
        let log = try settings.openEventLog(logger: logger)
        let calendar = EventConsumer(
            group: name, log: log, store: store, types: [Booked.type, BookCanceled.type], logger: logger, handler: applyCalendarEvent
        )
        let relay = OutboxRelay(store: store, log: log, logger: logger)
        return HotelService.application(
            name: name, settings: settings, store: store, eventLog: log, logger: logger, services: [relay, calendar], onServerRunning: onServerRunning
        ) { router in
            let controller = RoomsController(store: store)
            router.post("/rooms") { request, _ in try await controller.register(request) }
            router.get("/rooms") { request, _ in try await controller.search(request) }
            router.get("/rooms/:id") { _, context in try await controller.find(RequestDecoding.id(context)) }
            router.delete("/rooms/:id") { _, context in try await controller.delete(RequestDecoding.id(context)) }
        }
    }

    /// Keeps the booking calendar in step with the books service.
    @Sendable static func applyCalendarEvent(_ event: EventEnvelope, _ db: Database) throws {
        switch event.type {
        case Booked.type:
            let booking = try event.decode(Booked.self).booking
            try db.execute(
                sql: "INSERT OR IGNORE INTO room_bookings (book_id, room_id, start_date, end_date) VALUES (?, ?, ?, ?)",
                arguments: [booking.bookID, booking.roomID, booking.startDate, booking.endDate]
            )
        case BookCanceled.type:
            let booking = try event.decode(BookCanceled.self).booking
            try db.execute(
                sql: """
                    INSERT INTO room_bookings (book_id, room_id, start_date, end_date, canceled) VALUES (?, ?, ?, ?, 1)
                    ON CONFLICT (book_id) DO UPDATE SET canceled = 1
                    """,
                arguments: [booking.bookID, booking.roomID, booking.startDate, booking.endDate]
            )
        default:
            break
        }
    }
}

struct RoomsController: Sendable {
    let store: ServiceDatabase

    func register(_ request: Request) async throws -> Response {
        let input = try await RequestDecoding.body(NewRoom.self, from: request)
        let source = store.source
        let store = self.store
        let room = try await store.write { db -> Room in
            try db.execute(
                sql: "INSERT INTO rooms (name, host_id, price, capacity, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [input.name, input.hostId, input.price, input.capacity, Date().timeIntervalSince1970]
            )
            let id = db.lastInsertedRowID
            try store.publish(EventEnvelope(RoomRegistered(roomID: id, name: input.name, hostID: input.hostId, price: input.price), source: source), in: db)
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM rooms WHERE id = ?", arguments: [id]) else {
                throw APIError(.internalServerError, "server_error", "room \(id) vanished while it was registered")
            }
            return try Room(row: row)
        }
        return JSONResponse.make(status: .created, room, headers: [.location: "/rooms/\(room.id)"])
    }

    func find(_ id: Int64) async throws -> Response {
        guard let room = try await store.read({ db in
            try Row.fetchOne(db, sql: "SELECT * FROM rooms WHERE id = ? AND deleted_at IS NULL", arguments: [id]).map(Room.init(row:))
        }) else {
            throw APIError.notFound("room \(id) does not exist")
        }
        return JSONResponse.make(room)
    }

    /// F3: filters combine; `from` and `to` together ask for rooms free on every night in between.
    func search(_ request: Request) async throws -> Response {
        let search = try RequestDecoding.query(RoomSearch.self, from: request)
        let page = search.page
        var conditions = ["deleted_at IS NULL"]
        var arguments: [any DatabaseValueConvertible] = []
        if let minimum = search.minPrice {
            conditions.append("price >= ?")
            arguments.append(minimum)
        }
        if let maximum = search.maxPrice {
            conditions.append("price <= ?")
            arguments.append(maximum)
        }
        if let host = search.hostId {
            conditions.append("host_id = ?")
            arguments.append(host)
        }
        if let name = search.name {
            conditions.append("name LIKE ? ESCAPE '\\'")
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            arguments.append("%\(escaped)%")
        }
        if let stay = search.stay {
            conditions.append(
                "NOT EXISTS (SELECT 1 FROM room_bookings b WHERE b.room_id = rooms.id AND b.canceled = 0 AND b.start_date < ? AND b.end_date > ?)"
            )
            arguments.append(stay.to.description)
            arguments.append(stay.from.description)
        }
        let whereClause = conditions.joined(separator: " AND ")
        let filter = StatementArguments(arguments.map { $0.databaseValue })
        let (rooms, total) = try await store.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rooms WHERE \(whereClause)", arguments: filter) ?? 0
            let rooms = try Row.fetchAll(
                db, sql: "SELECT * FROM rooms WHERE \(whereClause) ORDER BY id LIMIT ? OFFSET ?", arguments: filter + [page.size, page.offset]
            ).map(Room.init(row:))
            return (rooms, total)
        }
        return JSONResponse.make(PageOf(items: rooms, page: page, total: total))
    }

    /// F2: a room with bookings that have not ended yet stays.
    func delete(_ id: Int64) async throws -> Response {
        let today = CalendarDate.today().description
        let source = store.source
        let store = self.store
        try await store.write { db in
            guard try Row.fetchOne(db, sql: "SELECT id FROM rooms WHERE id = ? AND deleted_at IS NULL", arguments: [id]) != nil else {
                throw APIError.notFound("room \(id) does not exist")
            }
            let upcoming = try Row.fetchAll(
                db, sql: "SELECT start_date, end_date FROM room_bookings WHERE room_id = ? AND canceled = 0 AND end_date > ? ORDER BY start_date",
                arguments: [id, today]
            )
            if let next = upcoming.first {
                let start: String = next["start_date"]
                let end: String = next["end_date"]
                throw APIError.conflict(
                    "room \(id) has \(upcoming.count) upcoming booking\(upcoming.count == 1 ? "" : "s") (next: \(start) to \(end)); cancel them first"
                )
            }
            try db.execute(sql: "UPDATE rooms SET deleted_at = ? WHERE id = ?", arguments: [Date().timeIntervalSince1970, id])
            try store.publish(EventEnvelope(RoomDeleted(roomID: id), source: source), in: db)
        }
        return Response(status: .noContent)
    }
}
