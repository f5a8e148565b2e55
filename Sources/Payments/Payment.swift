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

    /// Throws on a value of the wrong type: a damaged file is an error response, not a trap.
    init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        bookId = try row.decode(forColumn: "book_id")
        guestId = try row.decode(forColumn: "guest_id")
        hostId = try row.decode(forColumn: "host_id")
        roomId = try row.decode(forColumn: "room_id")
        roomName = try row.decode(forColumn: "room_name")
        startDate = try row.decode(forColumn: "start_date")
        endDate = try row.decode(forColumn: "end_date")
        amount = try row.decode(forColumn: "amount")
        status = try row.decode(forColumn: "status")
        createdAt = Date(timeIntervalSince1970: try row.decode(forColumn: "created_at"))
        canceledAt = (try row.decode(Double?.self, forColumn: "canceled_at")).map(Date.init(timeIntervalSince1970:))
    }

    var booking: BookingDetails {
        BookingDetails(bookID: bookId, roomID: roomId, roomName: roomName, guestID: guestId, hostID: hostId, startDate: startDate, endDate: endDate, price: amount)
    }
}
