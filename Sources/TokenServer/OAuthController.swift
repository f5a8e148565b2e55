import Foundation
import Hummingbird
import Logging
import PortierHTTP
import Tokens

/// The OAuth2 endpoints: token, introspection, revocation, the revocation list and discovery.
struct OAuthController: Sendable {
    let configuration: TokenServerConfiguration
    let clients: ClientStore
    let revocations: RevocationStore
    let keys: KeyRingHolder
    let authenticator: ClientAuthenticator
    let logger: Logger
    var metrics: TokenServerMetrics { authenticator.metrics }

    func addRoutes(to router: Router<PortierRequestContext>) {
        router.post("/oauth/token") { request, context in try await token(request, context) }
        router.post("/oauth/introspect") { request, context in try await introspect(request, context) }
        router.post("/oauth/revoke") { request, context in try await revoke(request, context) }
        router.get("/oauth/revocations") { request, context in try await revocationList(request, context) }
        router.get("/.well-known/jwks.json") { _, _ in jwks() }
        router.get("/.well-known/oauth-authorization-server") { _, _ in try await metadata() }
        // Other methods on these paths answer 405 with Allow (MethodSemantics, once every route is added).
    }

    /// RFC 6749 5.1, written by hand (both the fast and the slow path send these bytes): the
    /// members in sorted order, as ``JSONResponse`` writes every other body.
    struct TokenResponse {
        var accessToken: String
        var expiresIn: Int
        var scope: String
        var jti: String

        var json: [UInt8] {
            var object = JSONObjectWriter(capacity: accessToken.utf8.count + 128)
            object.field("access_token", accessToken)
            object.field("expires_in", Int64(expiresIn))
            object.field("jti", jti)
            object.field("scope", scope)
            object.field("token_type", "Bearer")
            return object.finish()
        }
    }

    /// RFC 6749 4.4: the client credentials grant. ``TokenEndpointHandler`` answers the common case
    /// (a known client whose secret was verified before) on the event loop with ``grantedScopes(_:form:)``
    /// and ``issue(to:scopes:now:)``, and hands everything else here.
    func token(_ request: Request, _ context: PortierRequestContext) async throws -> Response {
        let form = try await FormBody.read(request)
        guard let grantType = form["grant_type"] else { throw OAuthError.invalidRequest("grant_type is required") }
        let client = try await authenticator.authenticate(request, context: context, form: form)
        guard grantType == "client_credentials" else { throw OAuthError.unsupportedGrantType(grantType) }
        let scopes = try grantedScopes(client, form: form)

        var now = TokenVerifier.now()
        if let notBefore = client.notBefore, now <= notBefore {
            // The secret was rotated this very second, which killed tokens with iat <= notBefore:
            // issue from the next second, or the new token would be born dead.
            let wait = min(Double(notBefore + 1) - Date().timeIntervalSince1970, 1.1)
            if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000) + 1)) }
            now = TokenVerifier.now()
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: OAuthError.noStore)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try issue(to: client, scopes: scopes, now: now).json)))
    }

    /// All of the client's scopes, or the subset the form's `scope` asks for; `invalid_scope` when
    /// it asks for one the client does not have.
    func grantedScopes(_ client: OAuthClient, form: [String: String]) throws(APIError) -> [String] {
        guard let requested = form["scope"] else { return client.scopes }
        let asked = requested.split(separator: " ").map(String.init)
        let refused = asked.filter { !client.scopes.contains($0) }
        guard refused.isEmpty else {
            throw OAuthError.invalidScope("scope '\(refused.joined(separator: " "))' is not allowed for client '\(client.id)'")
        }
        return client.scopes.filter { asked.contains($0) }
    }

    /// Signs a token for an authenticated client.
    func issue(to client: OAuthClient, scopes: [String], now: Int64) throws -> TokenResponse {
        let claims = TokenClaims(
            iss: configuration.resolvedIssuer, sub: client.id, aud: [configuration.audience], clientID: client.id,
            scope: scopes.joined(separator: " "), iat: now, nbf: now, exp: now + Int64(client.tokenTTL),
            jti: Crypto.randomToken(bytes: 16), authorities: client.authorities.isEmpty ? nil : client.authorities
        )
        let started = ContinuousClock.now
        let signed = try keys.current.signer.sign(claims)
        metrics.tokenIssued(clientID: client.id, signing: .now - started)
        return TokenResponse(accessToken: signed, expiresIn: client.tokenTTL, scope: claims.scope ?? "", jti: claims.jti ?? "")
    }

    /// RFC 7662 response: `active` plus the token's claims when active.
    struct IntrospectionResponse: Encodable {
        var active: Bool
        var scope: String?
        var clientID: String?
        var tokenType: String?
        var exp: Int64?
        var iat: Int64?
        var nbf: Int64?
        var sub: String?
        var aud: String?
        var iss: String?
        var jti: String?
        var authorities: [String]?

        enum CodingKeys: String, CodingKey {
            case active, scope, clientID = "client_id", tokenType = "token_type", exp, iat, nbf, sub, aud, iss, jti, authorities
        }
    }

    func introspect(_ request: Request, _ context: PortierRequestContext) async throws -> Response {
        let form = try await FormBody.read(request)
        let caller = try await authenticator.authenticate(request, context: context, form: form)
        try requireIntrospectScope(caller, for: "introspection")
        guard let token = form["token"] else { throw OAuthError.invalidRequest("token is required") }
        guard let claims = await activeClaims(of: token) else {
            return JSONResponse.make(IntrospectionResponse(active: false), headers: OAuthError.noStore)
        }
        let response = IntrospectionResponse(
            active: true, scope: claims.scope, clientID: claims.clientID, tokenType: "Bearer", exp: claims.exp, iat: claims.iat,
            nbf: claims.nbf, sub: claims.sub, aud: claims.aud.joined(separator: " "), iss: claims.iss, jti: claims.jti,
            authorities: claims.authorities
        )
        return JSONResponse.make(response, headers: OAuthError.noStore)
    }

    /// Introspection and the revocation feed reveal other clients' tokens: only clients with the
    /// `introspect` scope (gateways, resource servers) may call them.
    func requireIntrospectScope(_ client: OAuthClient, for endpoint: String) throws {
        guard client.scopes.contains(OAuthClient.introspectScope) else {
            logger.notice("client lacks the introspect scope", metadata: ["client_id": .string(client.id), "endpoint": .string(endpoint)])
            throw OAuthError.insufficientScope("client '\(client.id)' needs the '\(OAuthClient.introspectScope)' scope to call \(endpoint)")
        }
    }

    /// Claims of a token this server issued that is unexpired, not revoked, and whose client still
    /// exists and was not cut off (removed or secret rotated) after issuing it; nil otherwise.
    func activeClaims(of token: String) async -> TokenClaims? {
        do {
            return try await checkedClaims(of: token)
        } catch {
            // When in doubt, a token is not active (RFC 7662 allows no third answer).
            logger.error("cannot check a token against the revocation log", metadata: ["error": .string("\(error)")])
            return nil
        }
    }

    /// The same, but a store that cannot answer throws: a caller with a third answer (the admin
    /// listener's 503) can tell "not active" from "cannot say now".
    func checkedClaims(of token: String) async throws -> TokenClaims? {
        let verifier = TokenVerifier(configuration: .init(issuer: configuration.resolvedIssuer, audience: nil, leewaySeconds: 0))
        guard let verified = try? verifier.verify(token, keys: keys.current.verificationKeys) else { return nil }
        let claims = verified.claims
        guard let clientID = claims.clientID ?? claims.sub else { return nil }
        if try await revocations.isDead(jti: claims.jti, clientID: clientID, iat: claims.iat) { return nil }
        if try await clients.find(id: clientID) == nil { return nil }
        return claims
    }

    /// RFC 7009: invalid or expired tokens are answered 200 as well; another client's token is refused.
    func revoke(_ request: Request, _ context: PortierRequestContext) async throws -> Response {
        let form = try await FormBody.read(request)
        let client = try await authenticator.authenticate(request, context: context, form: form)
        guard let token = form["token"] else { throw OAuthError.invalidRequest("token is required") }
        if let claims = await activeClaims(of: token), let jti = claims.jti, let exp = claims.exp {
            guard claims.clientID == client.id else {
                throw OAuthError.unauthorizedClient("the token was issued to another client")
            }
            try await revocations.revoke(jti: jti, clientID: client.id, expiresAt: exp)
            logger.info("token revoked", metadata: ["client_id": .string(client.id), "jti": .string(jti)])
        }
        return Response(status: .ok, headers: OAuthError.noStore)
    }

    /// The feed document. `reset: true` means "replace what you have"; otherwise merge.
    struct RevocationFeed: Encodable {
        var cursor: Int64
        var reset: Bool
        var revocations: [Revocation]
        var clients: [ClientCutoff]
        var generatedAt: Int64
        var retentionSeconds: Int64

        enum CodingKeys: String, CodingKey {
            case cursor, reset, revocations, clients, generatedAt = "generated_at", retentionSeconds = "retention_seconds"
        }
    }

    /// `GET /oauth/revocations[?since=<cursor>]`: what gateways must refuse, incrementally. Without
    /// `since` (or with one the server can no longer answer from) it is the full state with `reset: true`.
    /// Needs a client with the `introspect` scope (HTTP Basic).
    func revocationList(_ request: Request, _ context: PortierRequestContext) async throws -> Response {
        let caller = try await authenticator.authenticate(request, context: context, form: [:])
        try requireIntrospectScope(caller, for: "the revocation feed")
        var since: Int64?
        if let text = request.uri.queryParameters["since"] {
            guard let value = Int64(text), value >= 0 else {
                throw OAuthError.invalidRequest("since must be a cursor from a previous answer (a non-negative integer)")
            }
            since = value
        }
        let now = TokenVerifier.now()
        let changes = try await revocations.changes(since: since, now: now)
        let feed = RevocationFeed(
            cursor: changes.cursor, reset: changes.reset, revocations: changes.revocations, clients: changes.clients, generatedAt: now,
            retentionSeconds: revocations.retentionSeconds
        )
        return JSONResponse.make(feed, headers: OAuthError.noStore)
    }

    func jwks() -> Response {
        JSONResponse.make(keys.current.ring.jwks, headers: [.cacheControl: "public, max-age=300"])
    }

    struct Metadata: Encodable {
        var issuer: String
        var tokenEndpoint: String
        var jwksURI: String
        var introspectionEndpoint: String
        var revocationEndpoint: String
        var grantTypesSupported = ["client_credentials"]
        var responseTypesSupported: [String] = []
        var tokenEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post"]
        var introspectionEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post"]
        var revocationEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post"]
        var scopesSupported: [String]

        enum CodingKeys: String, CodingKey {
            case issuer, tokenEndpoint = "token_endpoint", jwksURI = "jwks_uri", introspectionEndpoint = "introspection_endpoint"
            case revocationEndpoint = "revocation_endpoint", grantTypesSupported = "grant_types_supported"
            case responseTypesSupported = "response_types_supported"
            case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
            case introspectionEndpointAuthMethodsSupported = "introspection_endpoint_auth_methods_supported"
            case revocationEndpointAuthMethodsSupported = "revocation_endpoint_auth_methods_supported"
            case scopesSupported = "scopes_supported"
        }
    }

    /// RFC 8414 authorization server metadata.
    func metadata() async throws -> Response {
        let issuer = configuration.resolvedIssuer
        let document = Metadata(
            issuer: issuer, tokenEndpoint: issuer + "/oauth/token", jwksURI: issuer + "/.well-known/jwks.json",
            introspectionEndpoint: issuer + "/oauth/introspect", revocationEndpoint: issuer + "/oauth/revoke",
            scopesSupported: try await clients.allScopes()
        )
        return JSONResponse.make(document, headers: [.cacheControl: "public, max-age=300"])
    }
}
