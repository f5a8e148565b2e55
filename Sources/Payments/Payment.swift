import Foundation
import GRDB
import HotelEvents

/// A payment for one booking; `bookId` is unique, which makes creating it idempotent.
public struct Payment: Codable, Sendable, Equatable {
    public var id: Int64
    public var bookId: Int64
    public var guestId: Int64
    public var hostId: Int64
    public var roomId: Int64
    public var roomName: String
    public var startDate: String
    public var endDate: String
    public var amount: Int64
    /// "Approved", "Canceled", or "Voided" (cancelled before it was created: see `void`).
    public var status: String
    public var createdAt: Date
    public var canceledAt: Date?

    init(row: Row) {
        id = row["id"]
        bookId = row["book_id"]
        guestId = row["guest_id"]
        hostId = row["host_id"]
        roomId = row["room_id"]
        roomName = row["room_name"]
        startDate = row["start_date"]
        endDate = row["end_date"]
        amount = row["amount"]
        status = row["status"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
        canceledAt = (row["canceled_at"] as Double?).map(Date.init(timeIntervalSince1970:))
    }

    var booking: BookingDetails {
        BookingDetails(bookID: bookId, roomID: roomId, roomName: roomName, guestID: guestId, hostID: hostId, startDate: startDate, endDate: endDate, price: amount)
    }
}

/// What books sends to pay for a booking.
public struct PaymentRequest: Codable, Sendable {
    public var bookId: Int64
    public var guestId: Int64
    public var hostId: Int64
    public var roomId: Int64
    public var roomName: String
    public var startDate: String
    public var endDate: String
    public var amount: Int64

    public init(bookId: Int64, guestId: Int64, hostId: Int64, roomId: Int64, roomName: String, startDate: String, endDate: String, amount: Int64) {
        self.bookId = bookId
        self.guestId = guestId
        self.hostId = hostId
        self.roomId = roomId
        self.roomName = roomName
        self.startDate = startDate
        self.endDate = endDate
        self.amount = amount
    }
}

/// A request to void whatever payment exists for a booking.
public struct VoidRequest: Codable, Sendable {
    public var bookId: Int64

    public init(bookId: Int64) {
        self.bookId = bookId
    }
}
