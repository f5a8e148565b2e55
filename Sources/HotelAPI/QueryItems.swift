/// Query parameters as the router decoded them; the first value of a repeated name wins.
public struct QueryItems: Sendable {
    public let items: [(name: String, value: String)]

    public init(_ items: some Sequence<(some StringProtocol, some StringProtocol)>) {
        self.items = items.map { (String($0.0), String($0.1)) }
    }

    /// Splits "a=1&b=2" without percent-decoding: for tests and fuzzing.
    public init(rawQuery: String) {
        self.items = rawQuery.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts.first ?? ""), parts.count > 1 ? String(parts[1]) : "")
        }
    }

    public subscript(_ name: String) -> String? {
        items.first { $0.name == name }?.value
    }

    /// Refuses a parameter the endpoint does not take: a misspelt filter (`maxprice=100`) would
    /// otherwise be ignored and widen the answer without a word.
    public func allowOnly(_ names: [String]) throws(RequestError) {
        guard let unknown = items.first(where: { !names.contains($0.name) }) else { return }
        let name = unknown.name.count > 40 ? unknown.name.prefix(40) + "..." : unknown.name
        throw RequestError(field: unknown.name, "unknown query parameter '\(name)'; this endpoint takes \(names.joined(separator: ", "))")
    }

    /// An optional integer within bounds; anything but plain ASCII digits is refused.
    public func int(_ name: String, in range: ClosedRange<Int64>) throws(RequestError) -> Int64? {
        guard let text = self[name] else { return nil }
        guard let value = StrictInteger.parse(text), range.contains(value) else {
            throw RequestError(field: name, "query parameter \(name) must be an integer between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    /// An optional date.
    public func date(_ name: String) throws(RequestError) -> CalendarDate? {
        guard let text = self[name] else { return nil }
        guard let date = CalendarDate(text) else { throw RequestError(field: name, "query parameter \(name) must be a date like 2026-05-05") }
        return date
    }

    /// `page` (from 1) and `size` (1-100, default 20).
    public func page() throws(RequestError) -> Page {
        let number = try int("page", in: 1...Page.maximumNumber) ?? 1
        let size = try int("size", in: 1...Page.maximumSize) ?? 20
        return Page(number: Int(number), size: Int(size))
    }
}

/// A page request.
public struct Page: Sendable, Equatable {
    public static let maximumNumber: Int64 = 1_000_000
    public static let maximumSize: Int64 = 100
    public var number: Int
    public var size: Int
    public var offset: Int { (number - 1) * size }

    public init(number: Int, size: Int) {
        self.number = number
        self.size = size
    }
}

/// A page of results as every list endpoint returns it.
public struct PageOf<Item: Encodable & Sendable>: Encodable, Sendable {
    public var items: [Item]
    public var page: Int
    public var size: Int
    public var total: Int

    public init(items: [Item], page: Page, total: Int) {
        self.items = items
        self.page = page.number
        self.size = page.size
        self.total = total
    }
}
