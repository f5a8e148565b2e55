import Foundation
import PortierTestSupport
import Testing
import TokenServer
import Tokens

/// Tokens die at the gateway when the token server says so: revoked jtis (until exp + leeway),
/// removed clients and rotated secrets (client cut-offs), pruned signing keys; and what the gateway
/// does when it cannot hear the token server (readiness, the age metric, fail-open or fail-closed).
@Suite struct RevocationTests {
    /// The gateway's own client, as the gateway reads the feed with it.
    func gatewayCredentials(_ gw: GatewayHarness) throws -> (String, String) {
        let secret = try String(contentsOfFile: gw.ports.secretFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return (TokenServerConfiguration.gatewayClientID, secret)
    }

    func introspect(_ gw: GatewayHarness, _ token: String) async throws -> Bool? {
        let (id, secret) = try gatewayCredentials(gw)
        let url = "http://127.0.0.1:\(gw.ports.auth!)/oauth/introspect"
        let response = try await HTTP.form(url, [("token", token)], headers: [HTTP.basic(id, secret)])
        return response.json["active"] as? Bool
    }

    @Test func removingOrRotatingAClientStopsItsLiveTokensAtARunningGateway() async throws {
        try await GatewayHarness.run { gw in
            // `portier clients` works on the SQLite file while the token server runs; so does the test.
            let store = try ClientStoreAccess.open(gw)
            let (_, goneSecret) = try await store.add(id: "gone", scopes: ["read"])
            let (_, rotatedSecret) = try await store.add(id: "rotated", scopes: ["read"])
            let gone = try await gw.token(client: "gone", secret: goneSecret)
            let rotated = try await gw.token(client: "rotated", secret: rotatedSecret)
            let bystander = try await gw.token()
            for token in [gone, rotated, bystander] {
                #expect(try await gw.get("/rooms", token: token).status == 200, "valid, and now in the gateway's verified-token cache")
            }

            try await store.remove(id: "gone")
            let newSecret = try await store.rotateSecret(id: "rotated")

            // The gateway polls the feed every 200 ms here (2 s by default).
            #expect(try await eventually { try await gw.get("/rooms", token: gone).status == 401 })
            #expect(try await eventually { try await gw.get("/rooms", token: rotated).status == 401 })
            let refused = try await gw.get("/rooms", token: rotated)
            #expect(refused.json["error"] as? String == "invalid_token")
            #expect(refused.header("WWW-Authenticate")?.contains("error=\"invalid_token\"") == true)
            #expect(try await introspect(gw, gone) == false)
            #expect(try await introspect(gw, rotated) == false)

            #expect(try await gw.get("/rooms", token: bystander).status == 200, "other clients' tokens keep working")
            let fresh = try await gw.token(client: "rotated", secret: newSecret)
            #expect(try await gw.get("/rooms", token: fresh).status == 200, "tokens issued with the new secret work")
            #expect(try await introspect(gw, fresh) == true)
        }
    }

    @Test func aRevokedJtiStaysDeniedAfterExpUntilExpPlusLeeway() async throws {
        try await GatewayHarness.run { gw in
            // A real token of hotel-client (signed with the server's key) that expires in a few seconds;
            // the gateway's leeway is 60 s, so only the revocation can keep it out after exp. The token
            // server ignores revoking an already expired token (RFC 7009), so on a slow machine try
            // again with a longer life until the revocation is on the feed.
            var claims = gw.claims()
            var token = ""
            for lifetime: Int64 in [3, 6, 12, 24, 48] {
                let now = TokenVerifier.now()
                claims = TokenClaims(
                    iss: "http://auth.test", sub: "hotel-client", aud: ["hotel-api"], clientID: "hotel-client", scope: "read write", iat: now,
                    nbf: now, exp: now + lifetime, jti: Crypto.randomToken(bytes: 16)
                )
                token = try TokenSigner(key: gw.signingKey()).sign(claims)
                let revoke = try await HTTP.form(
                    "http://127.0.0.1:\(gw.ports.auth!)/oauth/revoke", [("token", token)], headers: [HTTP.basic("hotel-client", gw.demoSecret!)]
                )
                #expect(revoke.status == 200)
                if try await feedLists(gw, jti: claims.jti) { break }
            }
            #expect(try await feedLists(gw, jti: claims.jti), "revoked before it expired")
            let revoked = token
            #expect(try await eventually { try await gw.get("/rooms", token: revoked).status == 401 })

            let exp = try #require(claims.exp)
            #expect(try await eventually(timeout: .seconds(120)) { TokenVerifier.now() > exp + 1 })
            // Wait for a successful feed poll that began after exp: the feed age metric says when.
            let expired = ContinuousClock.now
            #expect(
                try await eventually {
                    let elapsed = ContinuousClock.now - expired
                    guard let age = Self.feedAge(try await gw.metrics()) else { return false }
                    return elapsed > .seconds(1) && Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 > age
                }
            )
            let response = try await gw.get("/rooms", token: revoked)
            #expect(response.status == 401, "past exp but inside the leeway: still revoked, not readmitted: \(response.text)")
            #expect((response.json["error_description"] as? String)?.contains("revoked") == true)
        }
    }

    @Test func aPrunedKeysCachedTokensAreRefusedAfterTheJWKSRefresh() async throws {
        try await GatewayHarness.run(routes: { ports in
            var auth = ports.auth_
            auth["jwksRefreshSeconds"] = 1
            let rooms: [String: Any] = ["id": "rooms", "path": "/rooms", "upstreams": [ports.upstream("a")], "scopes": GatewayHarness.readWrite]
            return ["auth": auth, "routes": [rooms]]
        }) { gw in
            let old = try await gw.token()
            #expect(try await gw.get("/rooms", token: old).status == 200, "verified, and now cached")
            let keys = KeyStore(directory: gw.authConfiguration.keysDirectory)
            let newKey = try keys.rotate()
            #expect(try await eventually { TokenVerifier.unverifiedKeyID(of: try await gw.token()) == newKey.kid })
            let fresh = try await gw.token()
            #expect(try await gw.get("/rooms", token: fresh).status == 200)

            // `portier keys prune`: the old key leaves the keys directory, then the token server's JWKS.
            #expect(try keys.prune(retiredBefore: Date().addingTimeInterval(60)).count == 1)
            #expect(try await eventually { try await gw.get("/rooms", token: old).status == 401 })
            let refused = try await gw.get("/rooms", token: old)
            #expect(refused.json["error"] as? String == "invalid_token")
            #expect((refused.json["error_description"] as? String)?.contains("kid") == true, "\(refused.text)")
            #expect(try await gw.get("/rooms", token: fresh).status == 200, "the current key's tokens are untouched")
        }
    }

    /// Whether the token server's feed (read as the gateway reads it) lists the jti.
    func feedLists(_ gw: GatewayHarness, jti: String?) async throws -> Bool {
        let (id, secret) = try gatewayCredentials(gw)
        let feed = try await HTTP.request(.GET, "http://127.0.0.1:\(gw.ports.auth!)/oauth/revocations", headers: [HTTP.basic(id, secret)])
        return (feed.json["revocations"] as? [[String: Any]] ?? []).contains { $0["jti"] as? String == jti }
    }

    /// `portier_gateway_revocation_feed_age_seconds` from the Prometheus text.
    static func feedAge(_ metrics: String) -> Double? {
        for line in metrics.split(separator: "\n") where line.hasPrefix("portier_gateway_revocation_feed_age_seconds ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    /// A gateway whose token server starts later and can be stopped: the port is held (refusing
    /// connections) while no token server runs.
    static func routesWithHeldAuth(_ authPort: Int, failClosed: Bool) -> @Sendable (GatewayHarness.Ports) -> [String: Any] {
        { ports in
            var ports = ports
            ports.auth = authPort
            var auth = ports.auth_
            if failClosed, var revocations = auth["revocations"] as? [String: Any] {
                revocations["failClosed"] = true
                auth["revocations"] = revocations
            }
            return [
                "auth": auth,
                "routes": [
                    ["id": "rooms", "path": "/rooms", "upstreams": [ports.upstream("a")], "scopes": GatewayHarness.readWrite],
                    ["id": "public", "path": "/public", "upstreams": [ports.upstream("a")], "public": true],
                ],
            ]
        }
    }

    /// Runs a token server on the held port (where the gateway's routes point), gets a token and
    /// lets `whileUp` check the gateway, then stops the server and returns the token.
    static func tokenFromAServerThatThenStops(
        on held: HeldPort, _ gw: GatewayHarness, whileUp: @Sendable (String) async throws -> Void
    ) async throws -> String {
        var configuration = gw.authConfiguration
        configuration.port = held.port
        let signal = PortSignal()
        let (application, demo) = try await TokenServerForTests.build(configuration, signal)
        let secret = try #require(demo)
        return try await LiveServer.run(application, port: signal) { _ in
            let token = try await TokenServerForTests.token(port: held.port, secret: secret)
            try await whileUp(token)
            return token
        }
    }

    @Test func aStaleFeedMakesTheGatewayNotReadyWhileFailOpenKeepsServing() async throws {
        let held = try HeldPort()
        try await GatewayHarness.run(tokenServer: false, routes: Self.routesWithHeldAuth(held.port, failClosed: false)) { gw in
            let token = try await Self.tokenFromAServerThatThenStops(on: held, gw) { token in
                let ready = try await eventually { try await gw.get("/health/ready").status == 200 }
                #expect(ready)
                let status = try await gw.get("/rooms", token: token).status
                #expect(status == 200)
            }
            // The token server is gone: after the staleness bound (10 s here) the gateway says so.
            #expect(try await eventually { try await gw.get("/health/ready").status == 503 })
            let ready = try await gw.get("/health/ready")
            #expect(ready.json["status"] as? String == "down")
            #expect((ready.json["reason"] as? String)?.contains("revocation feed") == true, "\(ready.text)")
            #expect(try await gw.get("/health/live").status == 200, "alive, just not ready")
            let first = try #require(Self.feedAge(try await gw.metrics()))
            #expect(first >= 10)
            #expect(try await eventually { (Self.feedAge(try await gw.metrics()) ?? 0) > first }, "the age keeps growing")

            let served = try await gw.get("/rooms", token: token)
            #expect(served.status == 200, "fail-open (the default) serves with the last known list: \(served.text)")
        }
        withExtendedLifetime(held) {}
    }

    @Test func failClosedRefusesProtectedRequestsWhileTheFeedIsStale() async throws {
        let held = try HeldPort()
        try await GatewayHarness.run(tokenServer: false, routes: Self.routesWithHeldAuth(held.port, failClosed: true)) { gw in
            let token = try await Self.tokenFromAServerThatThenStops(on: held, gw) { token in
                let served = try await eventually { try await gw.get("/rooms", token: token).status == 200 }
                #expect(served)
            }
            #expect(try await eventually { try await gw.get("/rooms", token: token).status == 503 })
            let refused = try await gw.get("/rooms", token: token)
            expectJSONError(refused, status: 503, error: "service_unavailable")
            #expect(Int(refused.header("Retry-After") ?? "") ?? 0 >= 1)
            #expect(try await gw.get("/public").status == 200, "public routes need no revocation list")
            expectJSONError(try await gw.get("/rooms", token: "garbage"), status: 401, error: "invalid_token")
        }
        withExtendedLifetime(held) {}
    }
}
