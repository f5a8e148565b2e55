/// What a host sends to register a room.
public struct NewRoom: HotelRequestBody, Equatable {
    public var name: String
    public var hostId: Int64
    public var price: Int64
    public var capacity: Int64?

    /// A room registration that passed every check.
    public struct Valid: Sendable, Equatable {
        public var name: String
        public var hostId: Int64
        public var price: Int64
        public var capacity: Int
    }

    public static let prices: ClosedRange<Int64> = 1...10_000_000
    public static let capacities: ClosedRange<Int64> = 1...20

    public init(name: String, hostId: Int64, price: Int64, capacity: Int64? = nil) {
        self.name = name
        self.hostId = hostId
        self.price = price
        self.capacity = capacity
    }

    public init(json: JSONObject) throws(RequestError) {
        self.init(
            name: try json.string("name"), hostId: try json.int64("hostId"), price: try json.int64("price"),
            capacity: try json.optionalInt64("capacity"))
    }

    public func validate() throws(RequestError) -> Valid {
        let name = try TextField.check(name, "name", maxLength: 100)
        try TextField.positive(hostId, "hostId")
        guard Self.prices.contains(price) else { throw RequestError(field: "price", "price must be between 1 and 10000000") }
        let capacity = capacity ?? 2
        guard Self.capacities.contains(capacity) else { throw RequestError(field: "capacity", "capacity must be between 1 and 20") }
        return Valid(name: name, hostId: hostId, price: price, capacity: Int(capacity))
    }
}

/// GET /rooms: filters combine; `from` and `to` together ask for rooms free on every night in between.
public struct RoomSearch: HotelQuery, Equatable {
    public var page: Page
    public var minPrice: Int64?
    public var maxPrice: Int64?
    public var hostId: Int64?
    /// A part of the room's name; nil when absent or empty.
    public var name: String?
    public var stay: (from: CalendarDate, to: CalendarDate)?

    public init(query: QueryItems) throws(RequestError) {
        try query.allowOnly(["page", "size", "minPrice", "maxPrice", "hostId", "name", "from", "to"])
        page = try query.page()
        minPrice = try query.int("minPrice", in: 0...Int64.max)
        maxPrice = try query.int("maxPrice", in: 0...Int64.max)
        hostId = try query.int("hostId", in: 1...Int64.max)
        if let name = query["name"], !name.isEmpty {
            self.name = try TextField.check(name, "name", maxLength: 100)
        }
        switch (try query.date("from"), try query.date("to")) {
        case (let from?, let to?):
            guard from < to else { throw RequestError(field: "from", "from must be before to") }
            stay = (from, to)
        case (nil, nil):
            stay = nil
        default:
            throw RequestError(field: "from", "from and to must be given together")
        }
    }

    public static func == (lhs: RoomSearch, rhs: RoomSearch) -> Bool {
        lhs.page == rhs.page && lhs.minPrice == rhs.minPrice && lhs.maxPrice == rhs.maxPrice && lhs.hostId == rhs.hostId && lhs.name == rhs.name
            && lhs.stay?.from == rhs.stay?.from && lhs.stay?.to == rhs.stay?.to
    }
}
