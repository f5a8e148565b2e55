import Foundation
import GRDB

/// A message to a guest or a host, with the booking id as correlation key.
public struct Notification: Codable, Sendable, Equatable {
    public var id: Int64
    /// "guest:10" or "host:3".
    public var recipient: String
    public var bookId: Int64?
    /// payment_approved, booked, book_canceled, payment_canceled
    public var kind: String
    public var message: String
    public var createdAt: Date
    /// Where it went and whether that worked, by channel: "delivered", "pending" or "failed".
    public var deliveries: [String: String]

    /// Throws on a value of the wrong type: a damaged file is an error response, not a trap.
    init(row: Row, deliveries: [String: String]) throws {
        id = try row.decode(forColumn: "id")
        recipient = try row.decode(forColumn: "recipient")
        bookId = try row.decode(forColumn: "book_id")
        kind = try row.decode(forColumn: "kind")
        message = try row.decode(forColumn: "message")
        createdAt = Date(timeIntervalSince1970: try row.decode(forColumn: "created_at"))
        self.deliveries = deliveries
    }
}

/// Where notifications go: the log always, a webhook (standing for e-mail or app push) when set.
public protocol NotificationChannel: Sendable {
    var name: String { get }
    func deliver(_ notification: Notification) async throws
}
