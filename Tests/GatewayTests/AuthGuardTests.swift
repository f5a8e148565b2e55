import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import Testing
import PortierClients
import PortierHTTP
import Tokens
@testable import Gateway

/// The verified-token cache, with time passed in: a cached token is re-checked on every hit.
@Suite struct AuthGuardTests {
    static let key = try! RSAKey.generate()

    func makeGuard() -> AuthGuard {
        let jwks = JWKSFetcher(url: "http://127.0.0.1:1/jwks", client: HTTPClient.shared, logger: Logger(label: "test"))
        jwks.install(VerificationKeys([Self.key.thumbprint: Self.key]))
        let settings = GatewayConfiguration.AuthSettings(
            issuer: "http://auth.test", audience: "hotel-api", jwksURL: "http://127.0.0.1:1/jwks", leewaySeconds: 60, revocations: nil
        )
        return AuthGuard(settings: settings, jwks: jwks, revocations: RevocationList(logger: Logger(label: "test")))
    }

    func route() throws -> Route {
        let configuration = try GatewayConfiguration.parse(
            Data(#"{"auth": {"issuer": "http://auth.test", "audience": "hotel-api", "jwks": "http://127.0.0.1:1/jwks"}, "routes": [{"id": "r", "path": "/r", "upstreams": ["http://u:1"], "scopes": {"GET": ["read"]}}]}"#.utf8)
        )
        return RouteTable(configuration: configuration).routes[0]
    }

    @Test func aCachedTokenIsNeverUsedPastItsExpiry() throws {
        let authGuard = makeGuard()
        let now = TokenVerifier.now()
        let claims = TokenClaims(
            iss: "http://auth.test", sub: "c", aud: ["hotel-api"], clientID: "c", scope: "read", iat: now, nbf: now, exp: now + 100, jti: "j1"
        )
        let headers: HTTPFields = [.authorization: "Bearer " + (try TokenSigner(key: Self.key).sign(claims))]
        let route = try route()

        guard case .allowed(let identity) = authGuard.check(headers, method: .get, route: route, now: now) else {
            Issue.record("a fresh token must pass")
            return
        }
        #expect(identity.clientID == "c")
        guard case .allowed = authGuard.check(headers, method: .get, route: route, now: now + 160) else {
            Issue.record("still inside exp + leeway, served from the cache")
            return
        }
        guard case .refused(let error) = authGuard.check(headers, method: .get, route: route, now: now + 161) else {
            Issue.record("past exp + leeway the cached token must be refused")
            return
        }
        #expect(error.status == .unauthorized && error.message.contains("expired"))
        guard case .refused = authGuard.check(headers, method: .get, route: route, now: now + 500) else {
            Issue.record("and stays refused")
            return
        }
    }

    @Test func aCachedTokenIsDroppedWhenItsKeyLeavesTheJWKS() throws {
        let authGuard = makeGuard()
        let now = TokenVerifier.now()
        let claims = TokenClaims(
            iss: "http://auth.test", sub: "c", aud: ["hotel-api"], clientID: "c", scope: "read", iat: now, nbf: now, exp: now + 100, jti: "j3"
        )
        let headers: HTTPFields = [.authorization: "Bearer " + (try TokenSigner(key: Self.key).sign(claims))]
        let route = try route()
        guard case .allowed = authGuard.check(headers, method: .get, route: route, now: now) else {
            Issue.record("a fresh token must pass (and is cached now)")
            return
        }
        // `keys prune` at the token server, then the gateway's JWKS refresh: the key is gone.
        let other = try RSAKey.generate()
        authGuard.jwks.install(VerificationKeys([other.thumbprint: other]))
        guard case .needsKeys(let kid) = authGuard.check(headers, method: .get, route: route, now: now) else {
            Issue.record("the cached entry must not outlive its signing key")
            return
        }
        #expect(kid == Self.key.thumbprint)
    }

    @Test func anUnknownKidAsksForKeysInsteadOfFailing() throws {
        let authGuard = makeGuard()
        let stranger = try RSAKey.generate()
        let now = TokenVerifier.now()
        let token = try TokenSigner(key: stranger).sign(
            TokenClaims(iss: "http://auth.test", sub: "c", aud: ["hotel-api"], clientID: "c", scope: "read", iat: now, nbf: now, exp: now + 100, jti: "j2")
        )
        guard case .needsKeys(let kid) = authGuard.check([.authorization: "Bearer " + token], method: .get, route: try route(), now: now) else {
            Issue.record("an unknown kid must trigger a JWKS fetch")
            return
        }
        #expect(kid == stranger.thumbprint)
    }
}
