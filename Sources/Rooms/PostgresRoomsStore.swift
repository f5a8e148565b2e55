import EventBus
import Foundation
import HotelAPI
import HotelEvents
import PostgresNIO

/// Rooms in PostgreSQL, schema `portier_rooms`.
struct PostgresRoomsStore: RoomsStore {
    let database: PostgresServiceDatabase
    var bus: any ServiceStore { database }

    static let migrator = PostgresServiceDatabase.migrator(
        schema: "portier_rooms",
        migrations: [
            .init(
                "rooms-v1",
                [
                    """
                    CREATE TABLE portier_rooms.rooms (
                        id bigserial PRIMARY KEY,
                        name text NOT NULL,
                        host_id bigint NOT NULL,
                        price bigint NOT NULL,
                        capacity bigint NOT NULL,
                        created_at double precision NOT NULL,
                        deleted_at double precision
                    )
                    """,
                    "CREATE INDEX rooms_host ON portier_rooms.rooms (host_id)",
                    """
                    CREATE TABLE portier_rooms.room_bookings (
                        book_id bigint PRIMARY KEY,
                        room_id bigint NOT NULL,
                        start_date text NOT NULL,
                        end_date text NOT NULL,
                        canceled boolean NOT NULL DEFAULT false
                    )
                    """,
                    "CREATE INDEX room_bookings_room ON portier_rooms.room_bookings (room_id, end_date)",
                ]
            )
        ]
    )

    init(log: PostgresEventLog) {
        database = PostgresServiceDatabase(log: log, migrator: Self.migrator, source: RoomsService.name)
    }

    func register(_ input: NewRoom.Valid, at time: Double) async throws -> Room {
        let database = self.database
        return try await database.write { connection in
            let rows = try await connection.query(
                """
                INSERT INTO rooms (name, host_id, price, capacity, created_at)
                VALUES (\(input.name), \(input.hostId), \(input.price), \(Int64(input.capacity)), \(time)) RETURNING *
                """,
                logger: database.logger
            )
            guard let room = try await Room.first(rows) else { throw RoomsService.vanished(0) }
            try await database.publish(try RoomsService.registered(id: room.id, input), on: connection)
            return room
        }
    }

    func find(_ id: Int64) async throws -> Room? {
        try await database.read { [database] connection in
            try await Room.first(try await connection.query("SELECT * FROM rooms WHERE id = \(id) AND deleted_at IS NULL", logger: database.logger))
        }
    }

    func search(_ search: RoomSearch) async throws -> (rooms: [Room], total: Int) {
        let filter = RoomFilter(search)
        let whereClause = filter.sql { "$\($0)" }
        let page = search.page
        let count = filter.values.count
        func query(_ sql: String, extra: [Int64] = []) throws -> PostgresQuery {
            var binds = PostgresBindings()
            for value in filter.values {
                switch value {
                case .integer(let number): binds.append(number)
                case .text(let text): binds.append(text)
                }
            }
            for value in extra { binds.append(value) }
            return PostgresQuery(unsafeSQL: sql, binds: binds)
        }
        let total = try query("SELECT count(*)::int8 FROM rooms WHERE \(whereClause)")
        let list = try query(
            "SELECT * FROM rooms WHERE \(whereClause) ORDER BY id LIMIT $\(count + 1) OFFSET $\(count + 2)", extra: [Int64(page.size), Int64(page.offset)]
        )
        return try await database.read { [database] connection in
            let found = try await connection.query(total, logger: database.logger).single(Int64.self) ?? 0
            let rooms = try await Room.all(try await connection.query(list, logger: database.logger))
            return (rooms, Int(found))
        }
    }

    func delete(_ id: Int64, today: CalendarDate, at time: Double) async throws -> RoomDeletion {
        let database = self.database
        let today = today.description
        return try await database.write { connection -> RoomDeletion in
            let logger = database.logger
            // Locks the room against a concurrent delete of the same room (the calendar is eventually
            // consistent with books, on either engine: a booking books accepted just before it learned
            // of the delete still arrives).
            guard try await connection.query("SELECT id FROM rooms WHERE id = \(id) AND deleted_at IS NULL FOR UPDATE", logger: logger).any() else {
                return .notFound
            }
            var upcoming: [(String, String)] = []
            for try await booking in try await connection.query(
                "SELECT start_date, end_date FROM room_bookings WHERE room_id = \(id) AND NOT canceled AND end_date > \(today) ORDER BY start_date",
                logger: logger
            ).decode((String, String).self) {
                upcoming.append(booking)
            }
            if let next = upcoming.first { return .booked(count: upcoming.count, nextStart: next.0, nextEnd: next.1) }
            try await connection.query("UPDATE rooms SET deleted_at = \(time) WHERE id = \(id)", logger: logger)
            try await database.publish(EventEnvelope(RoomDeleted(roomID: id), source: database.source), on: connection)
            return .deleted
        }
    }

    func calendar() -> any EventSink {
        database.sink { [database] event, connection in
            switch event.type {
            case Booked.type:
                let b = try event.decode(Booked.self).booking
                try await connection.query(
                    """
                    INSERT INTO room_bookings (book_id, room_id, start_date, end_date) VALUES (\(b.bookID), \(b.roomID), \(b.startDate), \(b.endDate))
                    ON CONFLICT (book_id) DO NOTHING
                    """,
                    logger: database.logger
                )
            case BookCanceled.type:
                let b = try event.decode(BookCanceled.self).booking
                try await connection.query(
                    """
                    INSERT INTO room_bookings (book_id, room_id, start_date, end_date, canceled) VALUES (\(b.bookID), \(b.roomID), \(b.startDate), \(b.endDate), true)
                    ON CONFLICT (book_id) DO UPDATE SET canceled = true
                    """,
                    logger: database.logger
                )
            default:
                break
            }
        }
    }
}

extension Room: PostgresRecord {
    public init(postgres row: PostgresRandomAccessRow) throws {
        id = try row.value("id")
        name = try row.value("name")
        hostId = try row.value("host_id")
        price = try row.value("price")
        capacity = Int(try row.value("capacity", as: Int64.self))
        createdAt = Date(timeIntervalSince1970: try row.value("created_at"))
    }
}
