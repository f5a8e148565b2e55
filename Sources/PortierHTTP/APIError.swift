import Foundation
public import Hummingbird

/// The one error type every Portier server renders: a deliberate status and a JSON body
/// `{"error": code, "error_description": text}`, the shape OAuth2 (RFC 6749 5.2) uses.
public struct APIError: HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// Machine-readable code, e.g. `invalid_request`, `not_found`.
    public var code: String
    /// Human-readable explanation.
    public var message: String
    /// Extra response headers (WWW-Authenticate, Retry-After, Allow, ...).
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response(requestID: nil)
    }

    /// Renders the error, optionally with the request id so users can quote it.
    public func response(requestID: String?) -> Response {
        let (status, headers, body) = rendered(requestID: requestID)
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// The status, headers and JSON body, for code that writes responses itself (the gateway's
    /// event-loop handler).
    public func rendered(requestID: String?) -> (status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer) {
        var body = ErrorBody(error: code, errorDescription: message, requestID: requestID)
        if message.isEmpty { body.errorDescription = nil }
        let bytes = (try? JSONResponse.encode(body)) ?? Data("{\"error\":\"\(code)\"}".utf8)
        var fields: HTTPFields = [.contentType: "application/json"]
        fields.append(contentsOf: headers)
        return (status, fields, ByteBuffer(bytes: bytes))
    }

    struct ErrorBody: Encodable {
        var error: String
        var errorDescription: String?
        var requestID: String?

        enum CodingKeys: String, CodingKey {
            case error
            case errorDescription = "error_description"
            case requestID = "request_id"
        }
    }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "invalid_request", message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
    public static func conflict(_ message: String) -> APIError { APIError(.conflict, "conflict", message) }

    public static func methodNotAllowed(allowed: [HTTPRequest.Method]) -> APIError {
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        return APIError(.methodNotAllowed, "method_not_allowed", "allowed methods: \(allow)", headers: [.allow: allow])
    }

    public static func serviceUnavailable(_ message: String, retryAfter: Int) -> APIError {
        APIError(.serviceUnavailable, "service_unavailable", message, headers: [.retryAfter: String(retryAfter)])
    }

    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, "payload_too_large", "request body is larger than \(limit) bytes")
    }
}

/// Builds JSON responses with the right content type.
public enum JSONResponse {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    /// Encodes `value` as the body; encoding failures become a 500 with a JSON body.
    public static func make(status: HTTPResponse.Status = .ok, _ value: some Encodable, headers: HTTPFields = [:]) -> Response {
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            return Response(
                status: .internalServerError,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"server_error\",\"error_description\":\"response encoding failed\"}"))
            )
        }
        var fields: HTTPFields = [.contentType: "application/json"]
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Encodes a value to JSON bytes with the same settings.
    public static func encode(_ value: some Encodable) throws -> Data {
        try encoder.encode(value)
    }
}
