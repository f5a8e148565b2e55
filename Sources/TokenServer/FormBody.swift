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
        guard isForm(contentType: contentType) else {
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

    /// Whether a (lower-cased) Content-Type names a form, parameters such as `charset` aside.
    static func isForm(contentType: String) -> Bool {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let mediaType = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }.drop(while: isSpace).reversed().drop(while: isSpace)
        return mediaType.elementsEqual("application/x-www-form-urlencoded".utf8.reversed())
    }

    static func parse(_ body: String) throws(APIError) -> [String: String] {
        do {
            return try FormDecoding.parse(body)
        } catch {
            throw OAuthError.invalidRequest(error.message)
        }
    }
}
