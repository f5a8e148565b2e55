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

    init(row: Row) {
        id = row["id"]
        roomId = row["room_id"]
        roomName = row["room_name"]
        guestId = row["guest_id"]
        hostId = row["host_id"]
        startDate = row["start_date"]
        endDate = row["end_date"]
        nights = row["nights"]
        price = row["price"]
        status = row["status"]
        paymentId = row["payment_id"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
        canceledAt = (row["canceled_at"] as Double?).map(Date.init(timeIntervalSince1970:))
    }

    var details: BookingDetails {
        BookingDetails(bookID: id, roomID: roomId, roomName: roomName, guestID: guestId, hostID: hostId, startDate: startDate, endDate: endDate, price: price)
    }
}
