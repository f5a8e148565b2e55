import PortierHTTP
/// Where a hotel service finds the token server and what its tokens must say, for service-to-service calls.
///
/// The defaults are the local stack's: the token server on 127.0.0.1:8090, which is also the issuer.
public struct ServiceAuthSettings: Sendable, Equatable {
    /// Base URL of the token server (its token endpoint is `<authURL>/oauth/token`).
    public var authURL: String
    /// The token server's JWKS.
    public var jwksURL: String
    /// Required `iss` of accepted tokens.
    public var issuer: String
    /// Required `aud` of accepted tokens.
    public var audience: String
    /// Clock skew tolerated for exp and nbf, in seconds.
    public var leewaySeconds: Int64

    public static let defaultAuthURL = "http://127.0.0.1:8090"

    /// Unset URLs and issuer follow `authURL`.
    public init(
        authURL: String = ServiceAuthSettings.defaultAuthURL, jwksURL: String? = nil, issuer: String? = nil, audience: String = "hotel-api",
        leewaySeconds: Int64 = 60
    ) {
        let base = authURL.hasSuffix("/") ? String(authURL.dropLast()) : authURL
        self.authURL = base
        self.jwksURL = jwksURL ?? base + "/.well-known/jwks.json"
        self.issuer = issuer ?? base
        self.audience = audience
        self.leewaySeconds = leewaySeconds
    }

    public var tokenURL: String { authURL + "/oauth/token" }
}
