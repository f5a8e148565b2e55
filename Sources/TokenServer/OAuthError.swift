import PortierHTTP
import Hummingbird

/// RFC 6749 section 5.2 errors, rendered as `{"error","error_description"}` with no-store caching.
enum OAuthError {
    static let noStore: HTTPFields = [.cacheControl: "no-store", .pragma: "no-cache"]

    static func invalidRequest(_ message: String) -> APIError {
        APIError(.badRequest, "invalid_request", message, headers: noStore)
    }

    /// 401; `WWW-Authenticate: Basic` when the client tried Basic (or nothing), as RFC 6749 asks.
    static func invalidClient(_ message: String, challenge: Bool) -> APIError {
        var headers = noStore
        if challenge { headers[.wwwAuthenticate] = "Basic realm=\"portier\"" }
        return APIError(.unauthorized, "invalid_client", message, headers: headers)
    }

    static func unsupportedGrantType(_ grant: String) -> APIError {
        APIError(.badRequest, "unsupported_grant_type", "grant_type '\(grant)' is not supported; use client_credentials", headers: noStore)
    }

    static func invalidScope(_ message: String) -> APIError {
        APIError(.badRequest, "invalid_scope", message, headers: noStore)
    }

    static func unauthorizedClient(_ message: String) -> APIError {
        APIError(.badRequest, "unauthorized_client", message, headers: noStore)
    }

    /// 403: the client authenticated but lacks the scope the endpoint needs (RFC 6750's code, the
    /// one that names the remedy: grant the scope).
    static func insufficientScope(_ message: String) -> APIError {
        APIError(.forbidden, "insufficient_scope", message, headers: noStore)
    }

    static func tooManyAttempts(retryAfter: Int) -> APIError {
        var headers = noStore
        headers[.retryAfter] = String(retryAfter)
        return APIError(
            .tooManyRequests, "too_many_requests",
            "too many failed client authentications; retry after \(retryAfter) seconds", headers: headers
        )
    }
}
