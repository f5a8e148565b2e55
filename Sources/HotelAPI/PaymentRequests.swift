/// What books sends to pay for a booking.
public struct PaymentRequest: HotelRequestBody, Codable, Equatable {
    public var bookId: Int64
    public var guestId: Int64
    public var hostId: Int64
    public var roomId: Int64
    public var roomName: String
    public var startDate: String
    public var endDate: String
    public var amount: Int64

    public init(bookId: Int64, guestId: Int64, hostId: Int64, roomId: Int64, roomName: String, startDate: String, endDate: String, amount: Int64) {
        self.bookId = bookId
        self.guestId = guestId
        self.hostId = hostId
        self.roomId = roomId
        self.roomName = roomName
        self.startDate = startDate
        self.endDate = endDate
        self.amount = amount
    }

    public init(json: JSONObject) throws(RequestError) {
        self.init(
            bookId: try json.int64("bookId"), guestId: try json.int64("guestId"), hostId: try json.int64("hostId"), roomId: try json.int64("roomId"),
            roomName: try json.string("roomName"), startDate: try json.date("startDate").description, endDate: try json.date("endDate").description,
            amount: try json.int64("amount")
        )
    }

    /// The same request with the room name trimmed and the dates in their canonical form.
    public func validate() throws(RequestError) -> PaymentRequest {
        for (value, field) in [(bookId, "bookId"), (guestId, "guestId"), (hostId, "hostId"), (roomId, "roomId")] {
            try TextField.positive(value, field)
        }
        guard amount > 0 else { throw RequestError(field: "amount", "amount must be positive") }
        let roomName = try TextField.check(roomName, "roomName", maxLength: 200)
        guard let start = CalendarDate(startDate), let end = CalendarDate(endDate), start < end else {
            throw RequestError(field: "startDate", "startDate and endDate must be dates with startDate before endDate")
        }
        var valid = self
        valid.roomName = roomName
        valid.startDate = start.description
        valid.endDate = end.description
        return valid
    }
}

/// A request to void whatever payment exists for a booking.
public struct VoidRequest: HotelRequestBody, Codable, Equatable {
    public var bookId: Int64

    public init(bookId: Int64) {
        self.bookId = bookId
    }

    public init(json: JSONObject) throws(RequestError) {
        self.init(bookId: try json.int64("bookId"))
    }

    public func validate() throws(RequestError) -> VoidRequest {
        try TextField.positive(bookId, "bookId")
        return self
    }
}

/// GET /payments: `?bookId=` or `?guestId=`.
public struct PaymentList: HotelQuery, Equatable {
    public enum Filter: Sendable, Equatable {
        case book(Int64)
        case guest(Int64)
    }

    public var page: Page
    public var filter: Filter

    public init(query: QueryItems) throws(RequestError) {
        try query.allowOnly(["page", "size", "bookId", "guestId"])
        page = try query.page()
        let book = try query.int("bookId", in: 1...Int64.max)
        let guest = try query.int("guestId", in: 1...Int64.max)
        if let book {
            filter = .book(book)
        } else if let guest {
            filter = .guest(guest)
        } else {
            throw RequestError(field: "bookId", "give bookId or guestId")
        }
    }
}
