import Foundation

/// HTTP Basic client credentials (client_secret_basic, RFC 6749 2.3.1): base64 of the
/// form-encoded client id and secret joined by a colon.
public enum BasicCredentials {
    /// What an `Authorization` header holds, so the caller can pick the RFC 6749 answer.
    public enum Parsed: Equatable, Sendable {
        /// Another scheme (or a bare `Basic`).
        case notBasic
        /// `Basic` with something that is not base64 of `id:secret`, or an empty id.
        case malformed
        case credentials(id: String, secret: String)
    }

    /// Reads `Basic <base64>`; the scheme is case-insensitive.
    public static func parse(_ authorization: String) -> Parsed {
        guard authorization.count > 6, authorization.prefix(6).lowercased() == "basic " else { return .notBasic }
        // Spaces and tabs around the credentials, trimmed without a trip through NSString.
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let value = authorization.utf8.dropFirst(6).drop(while: isSpace)
        let end = value.lastIndex { !isSpace($0) }.map { value.index(after: $0) } ?? value.startIndex
        guard let data = Data(base64Encoded: Data(value[..<end])), let decoded = String(data: data, encoding: .utf8),
            let colon = decoded.firstIndex(of: ":"),
            let id = FormDecoding.decode(decoded[..<colon]), let secret = FormDecoding.decode(decoded[decoded.index(after: colon)...]),
            !id.isEmpty
        else { return .malformed }
        return .credentials(id: id, secret: secret)
    }

    /// The header value a client sends for these credentials.
    public static func header(id: String, secret: String) -> String {
        "Basic " + Data((FormDecoding.encode(id) + ":" + FormDecoding.encode(secret)).utf8).base64EncodedString()
    }
}
