public import Hummingbird
import Foundation
import Logging
import NIOCore
import PortierTelemetry
import Tracing

/// Gives each request an id, turns every error into a deliberate JSON response, and writes one
/// JSON access-log line per request. Nothing reaches a client as an accidental bare 500.
public struct AccessLogMiddleware: RouterMiddleware {
    public typealias Context = PortierRequestContext
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        context.requestID = RequestID.resolve(request.headers[.xRequestID])
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.render(error, request: request, requestID: context.requestID, logger: logger)
        }
        response.headers[.xRequestID] = context.requestID
        if var line = AccessLogLine(logger: logger) {
            line.field("method", request.method.rawValue)
            line.field("path", request.uri.path)
            line.field("status", Int(response.status.code))
            line.field("duration_ms", milliseconds: ContinuousClock.now - started)
            line.field("client", context.peerIP)
            line.field("request_id", context.requestID)
            // Portier's own tracer's span as integers; under an exporting tracer, what its log fields say.
            if let span = ServiceContext.current?.portierSpan { line.trace(span.traceParent) } else { line.trace(from: logger) }
            line.write()
        }
        return response
    }

    /// Maps any error to a JSON error response; unexpected errors are logged and become a 500.
    public static func render(_ error: any Error, request: Request, requestID: String, logger: Logger) -> Response {
        switch error {
        case let error as APIError:
            return error.response(requestID: requestID)
        case let error as NIOTooManyBytesError:
            _ = error
            return APIError(.contentTooLarge, "payload_too_large", "request body is too large").response(requestID: requestID)
        case let error as HTTPError:
            let code: String
            let message: String
            switch error.status {
            case .notFound: (code, message) = ("not_found", "no resource at \(request.uri.path)")
            case .methodNotAllowed: (code, message) = ("method_not_allowed", "method \(request.method.rawValue) is not allowed here")
            case .badRequest: (code, message) = ("invalid_request", error.body ?? "bad request")
            default: (code, message) = (error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_"), error.body ?? "")
            }
            return APIError(error.status, code, message, headers: error.headers).response(requestID: requestID)
        case let error as any HTTPResponseError:
            return APIError(error.status, "error", "\(error)").response(requestID: requestID)
        case is DecodingError:
            return APIError.badRequest("request body is not valid JSON for this endpoint: \(describe(error))").response(requestID: requestID)
        default:
            logger.error("unhandled error", metadata: ["error": .string("\(error)"), "request_id": .string(requestID)])
            return APIError(.internalServerError, "server_error", "the server failed to handle this request").response(requestID: requestID)
        }
    }

    /// A short, user-facing explanation of a JSON decoding error.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "body" : keys.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, _): return "field \(key.stringValue) is required"
        case .typeMismatch(_, let context): return "field \(path(context)) has the wrong type"
        case .valueNotFound(_, let context): return "field \(path(context)) must not be null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "malformed JSON" : "field \(path(context)): \(context.debugDescription)"
        @unknown default: return "malformed JSON"
        }
    }
}
