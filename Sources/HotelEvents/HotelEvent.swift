import EventBusModel
import Foundation

/// The event contract shared by the hotel services. Dates are ISO calendar dates ("2026-05-05").
public protocol HotelEvent: Codable, Sendable {
    static var type: String { get }
    /// The correlation key: the booking the event belongs to, if any.
    var bookID: Int64? { get }
}

/// A host registered a room. (rooms -> books' replica, mypages)
public struct RoomRegistered: HotelEvent, Equatable {
    public static let type = "RoomRegistered"
    public var roomID: Int64
    public var name: String
    public var hostID: Int64
    public var price: Int64
    public var bookID: Int64? { nil }

    public init(roomID: Int64, name: String, hostID: Int64, price: Int64) {
        self.roomID = roomID
        self.name = name
        self.hostID = hostID
        self.price = price
    }
}

/// A host deleted a room. (rooms -> books' replica)
public struct RoomDeleted: HotelEvent, Equatable {
    public static let type = "RoomDeleted"
    public var roomID: Int64
    public var bookID: Int64? { nil }

    public init(roomID: Int64) {
        self.roomID = roomID
    }
}

/// The booking details every booking event carries.
public struct BookingDetails: Codable, Sendable, Equatable {
    public var bookID: Int64
    public var roomID: Int64
    public var roomName: String
    public var guestID: Int64
    public var hostID: Int64
    public var startDate: String
    public var endDate: String
    public var price: Int64

    public init(bookID: Int64, roomID: Int64, roomName: String, guestID: Int64, hostID: Int64, startDate: String, endDate: String, price: Int64) {
        self.bookID = bookID
        self.roomID = roomID
        self.roomName = roomName
        self.guestID = guestID
        self.hostID = hostID
        self.startDate = startDate
        self.endDate = endDate
        self.price = price
    }
}

/// A paid booking was stored. (books -> notifications: host, mypages, rooms' calendar)
public struct Booked: HotelEvent, Equatable {
    public static let type = "Booked"
    public var booking: BookingDetails
    public var paymentID: Int64
    public var bookID: Int64? { booking.bookID }

    public init(booking: BookingDetails, paymentID: Int64) {
        self.booking = booking
        self.paymentID = paymentID
    }
}

/// A guest cancelled. (books -> payments, notifications: host, mypages, rooms' calendar)
public struct BookCanceled: HotelEvent, Equatable {
    public static let type = "BookCanceled"
    public var booking: BookingDetails
    public var bookID: Int64? { booking.bookID }

    public init(booking: BookingDetails) {
        self.booking = booking
    }
}

/// A payment was approved. (payments -> notifications: guest, mypages)
public struct PaymentApproved: HotelEvent, Equatable {
    public static let type = "PaymentApproved"
    public var paymentID: Int64
    public var booking: BookingDetails
    public var amount: Int64
    public var bookID: Int64? { booking.bookID }

    public init(paymentID: Int64, booking: BookingDetails, amount: Int64) {
        self.paymentID = paymentID
        self.booking = booking
        self.amount = amount
    }
}

/// A payment was cancelled (refunded). (payments -> notifications: guest, mypages)
public struct PaymentCanceled: HotelEvent, Equatable {
    public static let type = "PaymentCanceled"
    public var paymentID: Int64
    public var booking: BookingDetails
    public var amount: Int64
    public var bookID: Int64? { booking.bookID }

    public init(paymentID: Int64, booking: BookingDetails, amount: Int64) {
        self.paymentID = paymentID
        self.booking = booking
        self.amount = amount
    }
}

extension EventEnvelope {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// Wraps a hotel event for the outbox.
    public init(_ event: some HotelEvent, source: String) throws {
        self.init(type: Swift.type(of: event).type, bookID: event.bookID, source: source, payload: try Self.encoder.encode(event))
    }

    /// Reads the payload as the given event type; a mismatch is unprocessable, not a crash.
    public func decode<Event: HotelEvent>(_: Event.Type) throws -> Event {
        guard type == Event.type else { throw UnprocessableEvent("expected \(Event.type), got \(type)") }
        do {
            return try JSONDecoder().decode(Event.self, from: payload)
        } catch {
            throw UnprocessableEvent("\(type) payload does not decode: \(error)")
        }
    }
}
