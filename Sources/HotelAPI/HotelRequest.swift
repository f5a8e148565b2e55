import Foundation

/// A JSON request body a hotel service accepts: read strictly from bytes, then checked.
///
/// Fuzzing entry point: `T.decodeAndValidate(data)` for one type, or `HotelAPI.exerciseAll(data)` for
/// every body and query parser at once. Both throw only `RequestError` and must never trap.
public protocol HotelRequestBody: Sendable {
    /// What the service works with once the body passed every check.
    associatedtype Valid: Sendable
    /// Reads the fields; a missing field or a wrong type throws.
    init(json: JSONObject) throws(RequestError)
    /// Checks ranges and relations between fields.
    func validate() throws(RequestError) -> Valid
}

extension HotelRequestBody {
    /// Decodes a body without the range checks (the payments client sends what books computed).
    public static func decode(_ data: Data) throws(RequestError) -> Self {
        guard data.count <= HotelAPI.maximumBodySize else {
            throw RequestError(field: nil, "request body is larger than \(HotelAPI.maximumBodySize) bytes")
        }
        return try Self(json: JSONObject(parsing: data))
    }

    /// Decodes and validates a body: the one call a handler (or a fuzzer) needs.
    public static func decodeAndValidate(_ data: Data) throws(RequestError) -> Valid {
        try decode(data).validate()
    }
}

/// A set of query parameters a list endpoint accepts, checked as a whole.
public protocol HotelQuery: Sendable {
    init(query: QueryItems) throws(RequestError)
}

/// Shared limits and the fuzzing entry point.
public enum HotelAPI {
    /// Bodies above this are refused before parsing (the services answer 413).
    public static let maximumBodySize = 64 * 1024

    /// Feeds `data` to every body parser and, read as a query string, to every query parser.
    /// For libFuzzer targets: it returns normally or throws `RequestError`; anything else is a bug.
    public static func exerciseAll(_ data: Data) {
        _ = try? NewRoom.decodeAndValidate(data)
        _ = try? NewBook.decodeAndValidate(data)
        _ = try? PaymentRequest.decodeAndValidate(data)
        _ = try? VoidRequest.decodeAndValidate(data)
        let query = QueryItems(rawQuery: String(decoding: data, as: UTF8.self))
        _ = try? RoomSearch(query: query)
        _ = try? BookList(query: query)
        _ = try? PaymentList(query: query)
        _ = try? NotificationList(query: query)
        _ = try? MyPageList(query: query)
        for (_, value) in query.items {
            _ = try? PathID.parse(value, name: "id")
            _ = CalendarDate(value)
        }
    }
}

/// Checks for text fields and parameters.
public enum TextField {
    /// Trimmed, not empty, at most `maxLength` characters, no control characters (NUL, newlines, ...).
    public static func check(_ value: String, _ field: String, maxLength: Int = 200) throws(RequestError) -> String {
        guard value.utf8.count <= maxLength * 32 else { throw RequestError(field: field, "\(field) must be at most \(maxLength) characters") }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw RequestError(field: field, "\(field) must not be empty") }
        guard trimmed.count <= maxLength else { throw RequestError(field: field, "\(field) must be at most \(maxLength) characters") }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw RequestError(field: field, "\(field) must not contain control characters")
        }
        return trimmed
    }

    public static func positive(_ value: Int64, _ field: String) throws(RequestError) {
        guard value > 0 else { throw RequestError(field: field, "\(field) must be a positive integer") }
    }
}

/// A positive integer path segment such as the 7 in /rooms/7.
public enum PathID {
    public static func parse(_ text: some StringProtocol, name: String) throws(RequestError) -> Int64 {
        guard text.utf8.count <= 19, let value = StrictInteger.parse(text), value > 0 else {
            throw RequestError(field: name, "\(name) must be a positive integer")
        }
        return value
    }
}
