import Foundation
import Hummingbird
import NIOCore
import OAuthForms
import PortierHTTP

/// `application/x-www-form-urlencoded` request bodies: the size and content-type checks here, the
/// decoding in ``FormDecoding`` (OAuthForms, fuzzed on its own).
enum FormBody {
    /// Token endpoint bodies are tiny; anything bigger is refused before parsing.
    static let maxBytes = 64 * 1024

    /// Checks the content type, reads at most ``maxBytes`` and parses. Parameters sent twice are
    /// an `invalid_request` (RFC 6749 3.1); parameters without a value count as omitted.
    static func read(_ request: Request) async throws -> [String: String] {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard mediaType == "application/x-www-form-urlencoded" else {
            throw OAuthError.invalidRequest(
                "Content-Type must be application/x-www-form-urlencoded, got '\(contentType.isEmpty ? "none" : contentType)'"
            )
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            var error = OAuthError.invalidRequest("request body is larger than \(maxBytes) bytes")
            error.status = .contentTooLarge
            throw error
        }
        return try parse(String(buffer: buffer))
    }

    static func parse(_ body: String) throws(APIError) -> [String: String] {
        do {
            return try FormDecoding.parse(body)
        } catch {
            throw OAuthError.invalidRequest(error.message)
        }
    }
}
