/// GET /notifications: `?recipient=guest:10` (or `host:3`), or `?bookId=`.
public struct NotificationList: HotelQuery, Equatable {
    public enum Filter: Sendable, Equatable {
        /// Canonical "guest:10" / "host:3", as stored.
        case recipient(String)
        case book(Int64)
    }

    public var page: Page
    public var filter: Filter

    public init(query: QueryItems) throws(RequestError) {
        try query.allowOnly(["page", "size", "recipient", "bookId"])
        page = try query.page()
        if let recipient = query["recipient"] {
            let parts = recipient.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == "guest" || parts[0] == "host", let id = StrictInteger.parse(parts[1]), id > 0 else {
                throw RequestError(field: "recipient", "recipient must look like guest:10 or host:3")
            }
            filter = .recipient("\(parts[0]):\(id)")
        } else if let book = try query.int("bookId", in: 1...Int64.max) {
            filter = .book(book)
        } else {
            throw RequestError(field: "recipient", "give recipient (guest:N or host:N) or bookId")
        }
    }
}
