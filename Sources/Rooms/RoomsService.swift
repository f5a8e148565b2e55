import EventBus
import Foundation
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
    /// The service's schema in PostgreSQL (for `portier db migrate`).
    public static var postgresMigrator: PostgresMigrator { PostgresRoomsStore.migrator }

    public static func build(
        settings: HotelServiceSettings, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let (log, store) = try settings.openStore(name, logger: logger) { path -> any RoomsStore in
            try SQLiteRoomsStore(path: path)
        } postgres: { PostgresRoomsStore(log: $0) }
        let calendar = EventConsumer(group: name, log: log, sink: store.calendar(), types: [Booked.type, BookCanceled.type], logger: logger)
        let relay = OutboxRelay(store: store.bus, log: log, logger: logger)
        return HotelService.application(
            name: name, settings: settings, store: store.bus, eventLog: log, logger: logger, services: [relay, calendar], onServerRunning: onServerRunning
        ) { router in
            let controller = RoomsController(store: store)
            router.post("/rooms") { request, _ in try await controller.register(request) }
            router.get("/rooms") { request, _ in try await controller.search(request) }
            router.get("/rooms/:id") { _, context in try await controller.find(RequestDecoding.id(context)) }
            router.delete("/rooms/:id") { _, context in try await controller.delete(RequestDecoding.id(context)) }
        }
    }

    static func registered(id: Int64, _ room: NewRoom.Valid) throws -> EventEnvelope {
        try EventEnvelope(RoomRegistered(roomID: id, name: room.name, hostID: room.hostId, price: room.price), source: name)
    }

    static func vanished(_ id: Int64) -> APIError {
        APIError(.internalServerError, "server_error", "room \(id) vanished while it was registered")
    }
}

struct RoomsController: Sendable {
    let store: any RoomsStore

    func register(_ request: Request) async throws -> Response {
        let input = try await RequestDecoding.body(NewRoom.self, from: request)
        let room = try await store.register(input, at: Date().timeIntervalSince1970)
        return JSONResponse.make(status: .created, room, headers: [.location: "/rooms/\(room.id)"])
    }

    func find(_ id: Int64) async throws -> Response {
        guard let room = try await store.find(id) else { throw APIError.notFound("room \(id) does not exist") }
        return JSONResponse.make(room)
    }

    /// F3: filters combine; `from` and `to` together ask for rooms free on every night in between.
    func search(_ request: Request) async throws -> Response {
        let search = try RequestDecoding.query(RoomSearch.self, from: request)
        let (rooms, total) = try await store.search(search)
        return JSONResponse.make(PageOf(items: rooms, page: search.page, total: total))
    }

    /// F2: a room with bookings that have not ended yet stays.
    func delete(_ id: Int64) async throws -> Response {
        switch try await store.delete(id, today: CalendarDate.today(), at: Date().timeIntervalSince1970) {
        case .deleted:
            return Response(status: .noContent)
        case .notFound:
            throw APIError.notFound("room \(id) does not exist")
        case .booked(let count, let start, let end):
            throw APIError.conflict("room \(id) has \(count) upcoming booking\(count == 1 ? "" : "s") (next: \(start) to \(end)); cancel them first")
        }
    }
}
