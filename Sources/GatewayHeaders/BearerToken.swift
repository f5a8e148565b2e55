/// The bearer token of an `Authorization` header (RFC 6750 2.1), read without Foundation so the
/// fuzz target can reach it. Tokens come from this header only, never the query string.
public enum BearerToken {
    /// What the header holds, so the caller can pick the RFC 6750 answer: no error code when no
    /// token was sent at all, `invalid_token` when one was sent but is malformed.
    public enum Extraction: Equatable, Sendable {
        case missing
        case notBearer
        case malformed
        case token(String)
    }

    /// Reads `Bearer <token>`: the scheme case-insensitively, any spaces after it, then one token
    /// with no spaces in it.
    public static func extract(_ header: String?) -> Extraction {
        guard let header else { return .missing }
        guard header.utf8.count > 7, header.prefix(7).lowercased() == "bearer " else { return .notBearer }
        let token = String(header.dropFirst(7).drop { $0 == " " })
        guard !token.isEmpty, !token.utf8.contains(UInt8(ascii: " ")) else { return .malformed }
        return .token(token)
    }
}
