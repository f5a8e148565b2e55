import Foundation
import GRDB

/// A room a host offers.
public struct Room: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var hostId: Int64
    public var price: Int64
    public var capacity: Int
    public var createdAt: Date

    init(row: Row) {
        id = row["id"]
        name = row["name"]
        hostId = row["host_id"]
        price = row["price"]
        capacity = row["capacity"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
    }
}
