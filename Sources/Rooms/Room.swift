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

    /// Throws on a value of the wrong type: a damaged file is an error response, not a trap.
    init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        name = try row.decode(forColumn: "name")
        hostId = try row.decode(forColumn: "host_id")
        price = try row.decode(forColumn: "price")
        capacity = try row.decode(forColumn: "capacity")
        createdAt = Date(timeIntervalSince1970: try row.decode(forColumn: "created_at"))
    }
}
