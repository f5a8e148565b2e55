import EventBus
import Foundation
import GRDB
import HotelAPI
import HotelEvents

/// What the rooms service keeps: rooms, and the calendar of bookings it learns from events.
/// Each change publishes its event in the same transaction.
protocol RoomsStore: Sendable {
    var bus: any ServiceStore { get }
    /// F1: stores the room and publishes RoomRegistered.
    func register(_ room: NewRoom.Valid, at time: Double) async throws -> Room
    func find(_ id: Int64) async throws -> Room?
    /// F3: filters combine; a stay asks for rooms free on every night in between.
    func search(_ search: RoomSearch) async throws -> (rooms: [Room], total: Int)
    /// F2: deletes the room and publishes RoomDeleted, unless it has bookings ending after `today`.
    func delete(_ id: Int64, today: CalendarDate, at time: Double) async throws -> RoomDeletion
    /// Applies Booked and BookCanceled to the calendar.
    func calendar() -> any EventSink
}

enum RoomDeletion: Sendable, Equatable {
    case deleted
    case notFound
    case booked(count: Int, nextStart: String, nextEnd: String)
}

/// Rooms in the service's SQLite file.
struct SQLiteRoomsStore: RoomsStore {
    let database: ServiceDatabase
    var bus: any ServiceStore { database }

    init(path: String) throws {
        database = try ServiceDatabase(path: path, source: RoomsService.name) { migrator in
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
    }

    func register(_ input: NewRoom.Valid, at time: Double) async throws -> Room {
        let database = self.database
        return try await database.write { db -> Room in
            try db.execute(
                sql: "INSERT INTO rooms (name, host_id, price, capacity, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [input.name, input.hostId, input.price, input.capacity, time]
            )
            let id = db.lastInsertedRowID
            try database.publish(try RoomsService.registered(id: id, input), in: db)
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM rooms WHERE id = ?", arguments: [id]) else {
                throw RoomsService.vanished(id)
            }
            return try Room(row: row)
        }
    }

    func find(_ id: Int64) async throws -> Room? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM rooms WHERE id = ? AND deleted_at IS NULL", arguments: [id]).map(Room.init(row:))
        }
    }

    func search(_ search: RoomSearch) async throws -> (rooms: [Room], total: Int) {
        let filter = RoomFilter(search)
        let whereClause = filter.sql { _ in "?" }
        let arguments = StatementArguments(filter.values.map { value -> DatabaseValue in
            switch value {
            case .integer(let number): number.databaseValue
            case .text(let text): text.databaseValue
            }
        })
        let page = search.page
        return try await database.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rooms WHERE \(whereClause)", arguments: arguments) ?? 0
            let rooms = try Row.fetchAll(
                db, sql: "SELECT * FROM rooms WHERE \(whereClause) ORDER BY id LIMIT ? OFFSET ?", arguments: arguments + [page.size, page.offset]
            ).map(Room.init(row:))
            return (rooms, total)
        }
    }

    func delete(_ id: Int64, today: CalendarDate, at time: Double) async throws -> RoomDeletion {
        let database = self.database
        let today = today.description
        return try await database.write { db -> RoomDeletion in
            guard try Row.fetchOne(db, sql: "SELECT id FROM rooms WHERE id = ? AND deleted_at IS NULL", arguments: [id]) != nil else { return .notFound }
            let upcoming = try Row.fetchAll(
                db, sql: "SELECT start_date, end_date FROM room_bookings WHERE room_id = ? AND canceled = 0 AND end_date > ? ORDER BY start_date",
                arguments: [id, today]
            )
            if let next = upcoming.first {
                return .booked(count: upcoming.count, nextStart: try next.decode(forColumn: "start_date"), nextEnd: try next.decode(forColumn: "end_date"))
            }
            try db.execute(sql: "UPDATE rooms SET deleted_at = ? WHERE id = ?", arguments: [time, id])
            try database.publish(EventEnvelope(RoomDeleted(roomID: id), source: database.source), in: db)
            return .deleted
        }
    }

    func calendar() -> any EventSink {
        database.sink { event, db in
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
}

/// A room search as SQL conditions and their values, for either engine's placeholders.
struct RoomFilter {
    enum Value: Sendable {
        case integer(Int64)
        case text(String)
    }

    private var conditions: [((Int) -> String) -> String] = [{ _ in "deleted_at IS NULL" }]
    private(set) var values: [Value] = []

    init(_ search: RoomSearch) {
        if let minimum = search.minPrice { add(.integer(minimum)) { "price >= \($0)" } }
        if let maximum = search.maxPrice { add(.integer(maximum)) { "price <= \($0)" } }
        if let host = search.hostId { add(.integer(host)) { "host_id = \($0)" } }
        if let name = search.name {
            // Case-insensitive for ASCII on both engines, as SQLite's LIKE always was.
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            add(.text("%\(escaped)%")) { "lower(name) LIKE lower(\($0)) ESCAPE '\\'" }
        }
        if let stay = search.stay {
            values += [.text(stay.to.description), .text(stay.from.description)]
            let (to, from) = (values.count - 1, values.count)
            conditions.append { placeholder in
                "NOT EXISTS (SELECT 1 FROM room_bookings b WHERE b.room_id = rooms.id AND NOT b.canceled AND b.start_date < \(placeholder(to)) AND b.end_date > \(placeholder(from)))"
            }
        }
    }

    private mutating func add(_ value: Value, _ condition: @escaping (String) -> String) {
        values.append(value)
        let index = values.count
        conditions.append { placeholder in condition(placeholder(index)) }
    }

    /// The WHERE clause; `placeholder` names the n-th value (from 1), in order of appearance.
    func sql(_ placeholder: (Int) -> String) -> String {
        conditions.map { $0(placeholder) }.joined(separator: " AND ")
    }
}
