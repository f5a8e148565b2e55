import GatewayHeaders
import HTTPTypes
import Hummingbird
import PortierClients
import PortierHTTP
import Tokens

/// Who called, as proven by a verified token.
struct Identity: Sendable {
    var clientID: String
    var scopes: [String]
    var authorities: [String]
    /// The client's rate-limit key, made once per token rather than per request.
    var limiterKey: String

    /// `X-Client-Id`, `X-Client-Scopes` and `X-Client-Authorities` for the upstream, made once per
    /// token. A value with control characters (which could split a header on the wire) is left out.
    var upstreamHeaders: [(String, String)]

    init(clientID: String, scopes: [String], authorities: [String]) {
        self.clientID = clientID
        self.scopes = scopes
        self.authorities = authorities
        limiterKey = "client:" + clientID
        var headers = [("X-Client-Id", clientID), ("X-Client-Scopes", scopes.joined(separator: " "))]
        if !authorities.isEmpty { headers.append(("X-Client-Authorities", authorities.joined(separator: ","))) }
        upstreamHeaders = headers.filter { Self.isHeaderSafe($0.1) }
    }

    /// Whether a value that came from a token's claims can go in a header: no control characters,
    /// which could split the header on the wire.
    static func isHeaderSafe(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F }
    }
}

/// Checks bearer tokens for protected routes and answers per RFC 6750.
///
/// Tokens come from the Authorization header only (never the query string). A verified token is
/// cached; every hit re-checks exp/nbf/iss/aud and that its signing key is still in the JWKS, and
/// the revocation list (revoked jtis, client cut-offs) is consulted on every request.
final class AuthGuard: Sendable {
    let settings: GatewayConfiguration.AuthSettings
    let jwks: JWKSFetcher
    let revocations: RevocationList
    private let cache = TokenCache()
    private let verifier: TokenVerifier

    init(settings: GatewayConfiguration.AuthSettings, jwks: JWKSFetcher, revocations: RevocationList) {
        self.settings = settings
        self.jwks = jwks
        self.revocations = revocations
        self.verifier = TokenVerifier(
            configuration: .init(issuer: settings.issuer, audience: settings.audience, leewaySeconds: Int64(settings.leewaySeconds))
        )
        jwks.refreshInterval = settings.jwksRefreshInterval
    }

    /// What the guard decided about a request, without waiting for anything.
    enum Outcome {
        case allowed(Identity)
        case refused(APIError)
        /// The token's kid is unknown (or no keys are loaded yet): fetch the JWKS, then ask again.
        case needsKeys(kid: String?)
    }

    /// Checks the request's bearer token synchronously: a cache hit costs a dictionary lookup and
    /// the time checks; a miss costs one RS256 verification with keys already parsed.
    func check(_ headers: HTTPFields, method: HTTPRequest.Method, route: Route, now: Int64 = TokenVerifier.now()) -> Outcome {
        check(authorization: headers[.authorization], method: method, route: route, now: now)
    }

    /// The same, given the `Authorization` header's value (the gateway's data path has NIO's headers).
    func check(authorization: String?, method: HTTPRequest.Method, route: Route, now: Int64 = TokenVerifier.now()) -> Outcome {
        var memo = TokenCache.Memo()
        return check(authorization: authorization, method: method, route: route, now: now, memo: &memo)
    }

    /// The same, with the connection's memo of the last token it sent (see ``TokenCache/Memo``).
    /// Whatever the cache answers from, every check after the lookup runs on every request.
    func check(
        authorization: String?, method: HTTPRequest.Method, route: Route, now: Int64 = TokenVerifier.now(), memo: inout TokenCache.Memo
    ) -> Outcome {
        check(authorization: authorization, method: method, required: route.scopes(for: method), on: route.id, now: now, memo: &memo)
    }

    /// The same for `required` scopes on the named route (or the admin listener).
    func check(
        authorization: String?, method: HTTPRequest.Method, required: [String], on routeID: String, now: Int64 = TokenVerifier.now(),
        memo: inout TokenCache.Memo
    ) -> Outcome {
        guard let authorization else { return .refused(Self.challenge(nil, "a Bearer access token is required")) }
        let claims: TokenClaims
        let identity: Identity?
        // The cache is keyed by the whole header value, which determines the token: a hit needs no
        // parsing and no copy. It counts only while the key that verified it is still published:
        // after `keys prune` and the next JWKS refresh, the normal path below refuses the token.
        if let cached = cache.lookup(authorization, memo: &memo), jwks.contains(cached.kid) {
            do {
                try verifier.check(cached.claims, now: now)
            } catch {
                memo = TokenCache.Memo()
                cache.remove(authorization)
                return .refused(Self.challenge(.invalidToken, error.description))
            }
            claims = cached.claims
            identity = cached.identity
        } else {
            let token: String
            switch BearerToken.extract(authorization) {
            case .missing:
                return .refused(Self.challenge(nil, "a Bearer access token is required"))
            case .notBearer:
                return .refused(Self.challenge(nil, "a Bearer access token is required (Authorization: Bearer <token>)"))
            case .malformed:
                return .refused(Self.challenge(.invalidToken, "the bearer token is malformed"))
            case .token(let value):
                token = value
            }
            let keys = jwks.keys
            if keys.isEmpty { return .needsKeys(kid: nil) }
            let verified: VerifiedToken
            do {
                verified = try verifier.verify(token, keys: keys, now: now)
            } catch .unknownKeyID(let kid) {
                cache.remove(authorization)
                return .needsKeys(kid: kid)
            } catch {
                return .refused(Self.challenge(.invalidToken, error.description))
            }
            claims = verified.claims
            identity = Self.identity(claims)
            cache.insert(authorization, TokenCache.Entry(claims: claims, kid: verified.kid, identity: identity), now: now)
        }

        if let feed = settings.revocations, feed.failClosed, !revocations.isFresh(within: RevocationList.stalenessBound(feed)) {
            let retryAfter = max(1, Int(feed.interval.components.seconds) + 1)
            return .refused(
                APIError.serviceUnavailable(
                    "the gateway cannot confirm that the token is not revoked (the revocation feed is stale); try again shortly",
                    retryAfter: retryAfter
                )
            )
        }
        if revocations.refuses(jti: claims.jti, clientID: claims.clientID ?? claims.sub, iat: claims.iat) {
            return .refused(Self.challenge(.invalidToken, "the token has been revoked"))
        }
        // A cached token's scopes were split once, with its identity.
        let granted = identity?.scopes ?? claims.scopes
        guard required.allSatisfy(granted.contains) else {
            let missing = required.filter { !granted.contains($0) }
            return .refused(Self.insufficientScope(required: required, missing: missing, method: method.rawValue, route: routeID))
        }
        // A token that names no client would share one identity (and one rate-limit bucket) with every other such token.
        guard let identity else {
            return .refused(Self.challenge(.invalidToken, "the token names no client (no client_id or sub claim)"))
        }
        return .allowed(identity)
    }

    /// Who the claims name: client_id, else sub; nil when neither is a non-empty string.
    static func identity(_ claims: TokenClaims) -> Identity? {
        guard let clientID = [claims.clientID, claims.sub].lazy.compactMap({ $0 }).first(where: { !$0.isEmpty }) else { return nil }
        return Identity(clientID: clientID, scopes: claims.scopes, authorities: claims.authorities ?? [])
    }

    /// Fetches keys for `kid` (or any keys at all), then decides again. If the keys still do not
    /// come, the answer is 503 when the gateway has none, and invalid_token for an unknown kid.
    func checkAfterLoadingKeys(
        authorization: String?, method: HTTPRequest.Method, route: Route, kid: String?
    ) async -> Outcome {
        await checkAfterLoadingKeys(authorization: authorization, method: method, required: route.scopes(for: method), on: route.id, kid: kid)
    }

    func checkAfterLoadingKeys(
        authorization: String?, method: HTTPRequest.Method, required: [String], on routeID: String, kid: String?
    ) async -> Outcome {
        if let kid {
            _ = await jwks.keys(including: kid)
        } else {
            await jwks.refresh()
        }
        var memo = TokenCache.Memo()
        switch check(authorization: authorization, method: method, required: required, on: routeID, memo: &memo) {
        case .needsKeys(nil):
            return .refused(APIError.serviceUnavailable("the gateway has no token signing keys yet; is the token server up?", retryAfter: 1))
        case .needsKeys(let kid?):
            return .refused(Self.challenge(.invalidToken, TokenError.unknownKeyID(kid).description))
        case let outcome:
            return outcome
        }
    }

    enum ChallengeError: String {
        case invalidToken = "invalid_token"
    }

    /// 401 with `WWW-Authenticate: Bearer realm="portier"`, plus the error when a token was sent.
    static func challenge(_ error: ChallengeError?, _ description: String) -> APIError {
        var value = "Bearer realm=\"portier\""
        if let error {
            value += ", error=\"\(error.rawValue)\", error_description=\"\(quoted(description))\""
        }
        return APIError(.unauthorized, error?.rawValue ?? "unauthorized", description, headers: [.wwwAuthenticate: value])
    }

    static func insufficientScope(required: [String], missing: [String], method: String, route: String) -> APIError {
        let description = "\(method) on route '\(route)' needs scope \(required.joined(separator: " ")); the token lacks \(missing.joined(separator: " "))"
        let value = "Bearer realm=\"portier\", error=\"insufficient_scope\", error_description=\"\(quoted(description))\", scope=\"\(required.joined(separator: " "))\""
        return APIError(.forbidden, "insufficient_scope", description, headers: [.wwwAuthenticate: value])
    }

    /// Header parameter values may not contain quotes or backslashes (RFC 6750 3).
    private static func quoted(_ text: String) -> String {
        String(text.map { $0 == "\"" || $0 == "\\" ? "'" : $0 })
    }
}
