// PaymentRequest and VoidRequest live in HotelAPI; books sees them through this module.
@_exported import HotelAPI
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
