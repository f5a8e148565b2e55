import Foundation
import GRDB
import HotelEvents
import HotelSupport

/// A booking. It exists only once its payment was approved (status "Booked"), and ends "Canceled".
public struct Book: Codable, Sendable, Equatable {
    public var id: Int64
    public var roomId: Int64
    public var roomName: String
    public var guestId: Int64
    public var hostId: Int64
    public var startDate: String
    public var endDate: String
    public var nights: Int
    public var price: Int64
    public var status: String
    public var paymentId: Int64
    public var createdAt: Date
    public var canceledAt: Date?

    /// Throws on a value of the wrong type: a damaged file is an error response, not a trap.
    init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        roomId = try row.decode(forColumn: "room_id")
        roomName = try row.decode(forColumn: "room_name")
        guestId = try row.decode(forColumn: "guest_id")
        hostId = try row.decode(forColumn: "host_id")
        startDate = try row.decode(forColumn: "start_date")
        endDate = try row.decode(forColumn: "end_date")
        nights = try row.decode(forColumn: "nights")
        price = try row.decode(forColumn: "price")
        status = try row.decode(forColumn: "status")
        paymentId = try row.decode(forColumn: "payment_id")
        createdAt = Date(timeIntervalSince1970: try row.decode(forColumn: "created_at"))
        canceledAt = (try row.decode(Double?.self, forColumn: "canceled_at")).map(Date.init(timeIntervalSince1970:))
    }

    var details: BookingDetails {
        BookingDetails(bookID: id, roomID: roomId, roomName: roomName, guestID: guestId, hostID: hostId, startDate: startDate, endDate: endDate, price: price)
    }
}
