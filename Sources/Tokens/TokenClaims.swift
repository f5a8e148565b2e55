/// The claims of an access token. Issued tokens fill every field but `authorities`; tokens read
/// from the wire may lack any of them, and the verifier decides which absences are fatal.
public struct TokenClaims: Codable, Sendable, Equatable {
    public var iss: String?
    public var sub: String?
    /// `aud` may be a string or an array on the wire (RFC 7519 4.1.3); Portier issues a string.
    public var aud: [String]
    public var clientID: String?
    /// Space-separated scopes (RFC 8693 / RFC 9068 style).
    public var scope: String?
    public var iat: Int64?
    public var nbf: Int64?
    public var exp: Int64?
    public var jti: String?
    /// Roles of the client, for Spring-style `authorities` checks.
    public var authorities: [String]?

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, clientID = "client_id", scope, iat, nbf, exp, jti, authorities
    }

    public init(
        iss: String?, sub: String?, aud: [String], clientID: String?, scope: String?,
        iat: Int64?, nbf: Int64?, exp: Int64?, jti: String?, authorities: [String]? = nil
    ) {
        self.iss = iss
        self.sub = sub
        self.aud = aud
        self.clientID = clientID
        self.scope = scope
        self.iat = iat
        self.nbf = nbf
        self.exp = exp
        self.jti = jti
        self.authorities = authorities
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        iss = try container.decodeIfPresent(String.self, forKey: .iss)
        sub = try container.decodeIfPresent(String.self, forKey: .sub)
        if let single = try? container.decodeIfPresent(String.self, forKey: .aud) {
            aud = [single]
        } else {
            aud = try container.decodeIfPresent([String].self, forKey: .aud) ?? []
        }
        clientID = try container.decodeIfPresent(String.self, forKey: .clientID)
        scope = try container.decodeIfPresent(String.self, forKey: .scope)
        iat = try Self.numericDate(container, .iat)
        nbf = try Self.numericDate(container, .nbf)
        exp = try Self.numericDate(container, .exp)
        jti = try container.decodeIfPresent(String.self, forKey: .jti)
        authorities = try container.decodeIfPresent([String].self, forKey: .authorities)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(iss, forKey: .iss)
        try container.encodeIfPresent(sub, forKey: .sub)
        if aud.count == 1 {
            try container.encode(aud[0], forKey: .aud)
        } else if !aud.isEmpty {
            try container.encode(aud, forKey: .aud)
        }
        try container.encodeIfPresent(clientID, forKey: .clientID)
        try container.encodeIfPresent(scope, forKey: .scope)
        try container.encodeIfPresent(iat, forKey: .iat)
        try container.encodeIfPresent(nbf, forKey: .nbf)
        try container.encodeIfPresent(exp, forKey: .exp)
        try container.encodeIfPresent(jti, forKey: .jti)
        try container.encodeIfPresent(authorities, forKey: .authorities)
    }

    /// The scopes as a list.
    public var scopes: [String] {
        scope?.split(separator: " ").map(String.init) ?? []
    }

    /// NumericDate may carry a fraction (RFC 7519 2); Portier works in whole seconds. A number no
    /// Int64 can hold (1e300, NaN) is a decoding error, not a trap.
    private static func numericDate(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Int64? {
        if let value = try? container.decodeIfPresent(Int64.self, forKey: key) { return value }
        guard let number = try container.decodeIfPresent(Double.self, forKey: key) else { return nil }
        guard let seconds = Int64(exactly: number.rounded(.down)) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "\(key.stringValue) is not a time in seconds")
        }
        return seconds
    }
}
