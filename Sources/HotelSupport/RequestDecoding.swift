import Foundation
@_exported import HotelAPI
import Hummingbird
import NIOCore
import PortierHTTP

/// Reads requests into the pure types of `HotelAPI` and turns their `RequestError`s into 400s, so a
/// handler never sees input that did not pass its checks.
public enum RequestDecoding {
    /// Reads and validates a JSON body (at most 64 KB, else 413).
    public static func body<Body: HotelRequestBody>(_ type: Body.Type, from request: Request) async throws -> Body.Valid {
        let data = try await json(from: request)
        do {
            return try Body.decodeAndValidate(data)
        } catch {
            throw APIError.badRequest(error.message)
        }
    }

    /// The raw bytes of a JSON body, after the content type and size checks.
    public static func json(from request: Request) async throws -> Data {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "send the body as application/json")
        }
        var request = request
        do {
            return Data(buffer: try await request.collectBody(upTo: HotelAPI.maximumBodySize))
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: HotelAPI.maximumBodySize)
        }
    }

    /// A list endpoint's query parameters, checked.
    public static func query<Query: HotelQuery>(_ type: Query.Type, from request: Request) throws -> Query {
        do {
            return try Query(query: QueryItems(request.uri.queryParameters.map { ($0.key, $0.value) }))
        } catch {
            throw APIError.badRequest(error.message)
        }
    }

    /// A positive integer path parameter.
    public static func id(_ context: some RequestContext, _ name: String = "id") throws -> Int64 {
        do {
            return try PathID.parse(context.parameters.get(name) ?? "", name: name)
        } catch {
            throw APIError.badRequest(error.message)
        }
    }
}
