import PortierHTTP
import Foundation
public import Hummingbird
public import Logging
public import Tokens

/// Guards a hotel service's internal operations: the caller must present a bearer token from the token server
/// (RS256, checked against its JWKS, with iss, aud and exp) that carries a scope no ordinary client has.
///
/// Answers per RFC 6750: 401 with `WWW-Authenticate: Bearer` without a token or with a bad one
/// (error="invalid_token"), 403 error="insufficient_scope" when the scope is missing.
public struct ServiceTokenGuard: Sendable {
    public let verifier: TokenVerifier
    public let keys: JWKSFetcher
    let logger: Logger

    public init(verifier: TokenVerifier, keys: JWKSFetcher, logger: Logger) {
        self.verifier = verifier
        self.keys = keys
        self.logger = logger
    }

    /// A guard with its own JWKS fetcher for the token server in `settings`; call ``shutdown()`` when done.
    public init(settings: ServiceAuthSettings, logger: Logger) {
        self.init(
            verifier: TokenVerifier(
                configuration: .init(issuer: settings.issuer, audience: settings.audience, leewaySeconds: settings.leewaySeconds)),
            keys: JWKSFetcher(url: settings.jwksURL, logger: logger), logger: logger
        )
    }

    /// Closes the JWKS fetcher's HTTP client.
    public func shutdown() async throws {
        try await keys.shutdown()
    }

    /// The verified token of the request if it carries `scope`; otherwise the error to answer with.
    public func authorize(_ request: Request, scope: String) async throws(APIError) -> VerifiedToken {
        let route = "\(request.method) \(request.uri.path)"
        guard let header = request.headers[.authorization] else {
            throw refuse(Self.challenge(nil, "a Bearer access token with scope \(scope) is required", scope: scope), route: route)
        }
        guard header.utf8.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw refuse(Self.challenge(nil, "a Bearer access token is required (Authorization: Bearer <token>)", scope: scope), route: route)
        }
        let token = String(header.dropFirst(7).drop { $0 == " " })
        guard !token.isEmpty, !token.utf8.contains(UInt8(ascii: " ")), token.utf8.count <= verifier.configuration.maxTokenLength else {
            throw refuse(Self.challenge(.invalidToken, "the bearer token is malformed", scope: scope), route: route)
        }
        // A token without a readable kid fails verification below with the precise reason, no keys needed.
        var keys = VerificationKeys()
        if let kid = TokenVerifier.unverifiedKeyID(of: token) {
            keys = await self.keys.keys(including: kid)
            guard !keys.isEmpty else {
                throw refuse(APIError.serviceUnavailable("the token server's signing keys are not available yet", retryAfter: 1), route: route)
            }
        }
        let verified: VerifiedToken
        do {
            verified = try verifier.verify(token, keys: keys)
        } catch {
            throw refuse(Self.challenge(.invalidToken, error.description, scope: scope), route: route)
        }
        guard verified.claims.scopes.contains(scope) else {
            let client = verified.claims.clientID ?? verified.claims.sub ?? "unknown"
            let description = "\(route) needs scope \(scope); the token of client '\(client)' lacks it"
            let value =
                "Bearer realm=\"portier\", error=\"insufficient_scope\", error_description=\"\(Self.quoted(description))\", scope=\"\(scope)\""
            throw refuse(APIError(.forbidden, "insufficient_scope", description, headers: [.wwwAuthenticate: value]), route: route)
        }
        return verified
    }

    private func refuse(_ error: APIError, route: String) -> APIError {
        logger.warning(
            "refused an internal call",
            metadata: ["route": .string(route), "status": .stringConvertible(error.status.code), "reason": .string(error.message)]
        )
        return error
    }

    enum ChallengeError: String {
        case invalidToken = "invalid_token"
    }

    /// 401 with `WWW-Authenticate: Bearer realm="portier"`, plus the error when a token was sent.
    static func challenge(_ error: ChallengeError?, _ description: String, scope: String) -> APIError {
        var value = "Bearer realm=\"portier\""
        if let error {
            value += ", error=\"\(error.rawValue)\", error_description=\"\(quoted(description))\""
        }
        value += ", scope=\"\(scope)\""
        return APIError(.unauthorized, error?.rawValue ?? "unauthorized", description, headers: [.wwwAuthenticate: value])
    }

    /// Header parameter values may not contain quotes or backslashes (RFC 6750 3), nor control characters
    /// (a forged token's kid is quoted back in the description).
    private static func quoted(_ text: String) -> String {
        String(
            text.map { character -> Character in
                if character == "\"" || character == "\\" { return "'" }
                return character.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } ? " " : character
            }
        )
    }
}
