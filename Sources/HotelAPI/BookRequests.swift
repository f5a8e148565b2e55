/// What a guest sends to book. Extra fields (the seed's load test sends price and hostId) are
/// ignored: the price comes from the room, the host from the room's owner.
public struct NewBook: HotelRequestBody, Equatable {
    public var roomId: Int64
    public var guestId: Int64
    public var startDate: CalendarDate
    public var endDate: CalendarDate

    /// The longest stay one booking may cover.
    public static let maximumNights = 365

    /// A booking request that passed every check that does not need today's date or the database.
    public struct Valid: Sendable, Equatable {
        public var roomId: Int64
        public var guestId: Int64
        public var start: CalendarDate
        public var end: CalendarDate
        public var nights: Int
    }

    public init(roomId: Int64, guestId: Int64, startDate: CalendarDate, endDate: CalendarDate) {
        self.roomId = roomId
        self.guestId = guestId
        self.startDate = startDate
        self.endDate = endDate
    }

    public init(json: JSONObject) throws(RequestError) {
        self.init(
            roomId: try json.int64("roomId"), guestId: try json.int64("guestId"), startDate: try json.date("startDate"),
            endDate: try json.date("endDate")
        )
    }

    public func validate() throws(RequestError) -> Valid {
        try TextField.positive(roomId, "roomId")
        try TextField.positive(guestId, "guestId")
        guard startDate < endDate else { throw RequestError(field: "endDate", "endDate must be after startDate") }
        let nights = startDate.nights(until: endDate)
        guard nights <= Self.maximumNights else { throw RequestError(field: "endDate", "a booking can last at most \(Self.maximumNights) nights") }
        return Valid(roomId: roomId, guestId: guestId, start: startDate, end: endDate, nights: nights)
    }
}

/// Whose bookings a list asks for.
public enum Party: Sendable, Equatable {
    case guest(Int64)
    case host(Int64)
}

/// GET /books: `?guestId=` (or `?hostId=`).
public struct BookList: HotelQuery, Equatable {
    public var page: Page
    public var party: Party

    public init(query: QueryItems) throws(RequestError) {
        try query.allowOnly(["page", "size", "guestId", "hostId"])
        page = try query.page()
        party = try Self.party(query)
    }

    /// guestId wins when both are given.
    static func party(_ query: QueryItems) throws(RequestError) -> Party {
        let guest = try query.int("guestId", in: 1...Int64.max)
        let host = try query.int("hostId", in: 1...Int64.max)
        if let guest { return .guest(guest) }
        if let host { return .host(host) }
        throw RequestError(field: "guestId", "give guestId or hostId")
    }
}

/// GET /mypages: `?guestId=` or `?hostId=`.
public struct MyPageList: HotelQuery, Equatable {
    public var page: Page
    public var party: Party

    public init(query: QueryItems) throws(RequestError) {
        try query.allowOnly(["page", "size", "guestId", "hostId"])
        page = try query.page()
        party = try BookList.party(query)
    }
}
