import Foundation
import Hummingbird
import NIOCore
import PortierHTTP

/// Request helpers shared by the hotel services: JSON bodies, path ids, query numbers, paging.
public enum RequestDecoding {
    /// Reads a JSON body (at most 64 KB) with errors that say which field is wrong.
    public static func json<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "send the body as application/json")
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: 64 * 1024)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: 64 * 1024)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch {
            throw APIError.badRequest("request body is not valid: \(AccessLogMiddleware.describe(error))")
        }
    }

    /// A positive integer path parameter.
    public static func id(_ context: some RequestContext, _ name: String = "id") throws -> Int64 {
        guard let text = context.parameters.get(name), let value = Int64(text), value > 0 else {
            throw APIError.badRequest("\(name) must be a positive integer")
        }
        return value
    }

    /// An optional integer query parameter within bounds.
    public static func int(_ request: Request, _ name: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let value = Int64(text), range.contains(value) else {
            throw APIError.badRequest("query parameter \(name) must be an integer between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    /// An optional date query parameter.
    public static func date(_ request: Request, _ name: String) throws -> CalendarDate? {
        guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let date = CalendarDate(String(text)) else { throw APIError.badRequest("query parameter \(name) must be a date like 2026-05-05") }
        return date
    }

    /// `page` (from 1) and `size` (1-100, default 20).
    public static func page(_ request: Request) throws -> Page {
        Page(number: Int(try int(request, "page", in: 1...1_000_000) ?? 1), size: Int(try int(request, "size", in: 1...100) ?? 20))
    }
}

/// A page request.
public struct Page: Sendable {
    public var number: Int
    public var size: Int
    public var offset: Int { (number - 1) * size }
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

/// Field checks with messages that name the field.
public enum Validate {
    public static func positive(_ value: Int64, _ field: String) throws {
        guard value > 0 else { throw APIError.badRequest("\(field) must be a positive integer") }
    }

    public static func text(_ value: String, _ field: String, maxLength: Int = 200) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw APIError.badRequest("\(field) must not be empty") }
        guard trimmed.count <= maxLength else { throw APIError.badRequest("\(field) must be at most \(maxLength) characters") }
        return trimmed
    }
}
