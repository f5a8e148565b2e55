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

    init(row: Row, deliveries: [String: String]) {
        id = row["id"]
        recipient = row["recipient"]
        bookId = row["book_id"]
        kind = row["kind"]
        message = row["message"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
        self.deliveries = deliveries
    }
}

/// Where notifications go: the log always, a webhook (standing for e-mail or app push) when set.
public protocol NotificationChannel: Sendable {
    var name: String { get }
    func deliver(_ notification: Notification) async throws
}
