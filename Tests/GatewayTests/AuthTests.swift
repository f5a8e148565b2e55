import Foundation
import PortierTestSupport
import Testing
import Tokens

/// RFC 6750 behaviour at the gateway, with tokens from a real token server and forgeries signed
/// with its real key where a forgery needs a valid signature.
@Suite struct AuthTests {
    func expectChallenge(
        _ response: TestHTTPResponse, error: String?, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == 401, "body: \(response.text)", sourceLocation: sourceLocation)
        let header = response.header("WWW-Authenticate") ?? ""
        #expect(header.hasPrefix("Bearer realm=\"portier\""), sourceLocation: sourceLocation)
        if let error {
            #expect(header.contains("error=\"\(error)\""), "\(header)", sourceLocation: sourceLocation)
            #expect(header.contains("error_description=\""), sourceLocation: sourceLocation)
            #expect(response.json["error"] as? String == error, sourceLocation: sourceLocation)
        } else {
            #expect(!header.contains("error="), "no error code when no token was sent", sourceLocation: sourceLocation)
        }
    }

    @Test func aValidTokenPasses() async throws {
        try await GatewayHarness.run { gw in
            let response = try await gw.get("/rooms", token: try await gw.token())
            #expect(response.status == 200)
            #expect(try gw.echo(response).headers["x-client-id"] == "hotel-client")
        }
    }

    @Test func noTokenOrAnotherSchemeIsAPlainChallenge() async throws {
        try await GatewayHarness.run { gw in
            expectChallenge(try await gw.get("/rooms"), error: nil)
            expectChallenge(try await gw.get("/rooms", headers: [HTTP.basic("hotel-client", gw.demoSecret!)]), error: nil)
            let token = try await gw.token()
            #expect(try await gw.get("/rooms", headers: [("Authorization", "bEaReR \(token)")]).status == 200, "the scheme is case-insensitive")
            expectChallenge(try await gw.get("/rooms?access_token=\(token)"), error: nil)
        }
    }

    @Test func algNoneIsRefused() async throws {
        try await GatewayHarness.run { gw in
            let key = try gw.signingKey()
            let payload = try JSONEncoder().encode(gw.claims())
            let token = "\(Base64URL.encode("{\"alg\":\"none\",\"kid\":\"\(key.thumbprint)\"}")).\(Base64URL.encode(Array(payload)))."
            let response = try await gw.get("/rooms", token: token)
            expectChallenge(response, error: "invalid_token")
            #expect((response.json["error_description"] as? String)?.contains("none") == true)
        }
    }

    @Test func hs256MACedWithThePublicKeyIsRefused() async throws {
        try await GatewayHarness.run { gw in
            let key = try gw.signingKey()
            let header = Base64URL.encode("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"\(key.thumbprint)\"}")
            let payload = Base64URL.encode(Array(try JSONEncoder().encode(gw.claims())))
            let mac = Crypto.hmacSHA256(key: Array(try key.publicKeyPEM().utf8), data: Array("\(header).\(payload)".utf8))
            expectChallenge(try await gw.get("/rooms", token: "\(header).\(payload).\(Base64URL.encode(mac))"), error: "invalid_token")
        }
    }

    @Test func expiredWrongAudienceAndWrongIssuerAreRefused() async throws {
        try await GatewayHarness.run { gw in
            let signer = try TokenSigner(key: gw.signingKey())
            let good = try signer.sign(gw.claims())
            #expect(try await gw.get("/rooms", token: good).status == 200, "the forging works, so the refusals below are about the claims")

            let expired = try signer.sign(gw.claims(expiresIn: -120))
            let response = try await gw.get("/rooms", token: expired)
            expectChallenge(response, error: "invalid_token")
            #expect((response.json["error_description"] as? String)?.contains("expired") == true)

            expectChallenge(try await gw.get("/rooms", token: try signer.sign(gw.claims(aud: ["other-api"]))), error: "invalid_token")
            expectChallenge(try await gw.get("/rooms", token: try signer.sign(gw.claims(iss: "http://evil.test"))), error: "invalid_token")
            let future = gw.claims(notBefore: TokenVerifier.now() + 3600)
            expectChallenge(try await gw.get("/rooms", token: try signer.sign(future)), error: "invalid_token")
        }
    }

    @Test func aTokenFromAnUnknownKeyIsRefused() async throws {
        try await GatewayHarness.run { gw in
            let stranger = try TokenSigner(key: RSAKey.generate()).sign(gw.claims())
            let response = try await gw.get("/rooms", token: stranger)
            expectChallenge(response, error: "invalid_token")
            #expect((response.json["error_description"] as? String)?.contains("kid") == true)
        }
    }

    @Test func garbageTokensAreRefused() async throws {
        try await GatewayHarness.run { gw in
            for token in ["garbage", "a.b.c", String(repeating: "A", count: 20_000)] {
                expectChallenge(try await gw.get("/rooms", token: token), error: "invalid_token")
            }
        }
    }

    @Test func missingScopeIs403() async throws {
        try await GatewayHarness.run { gw in
            let readOnly = try await gw.token(scope: "read")
            #expect(try await gw.get("/rooms", token: readOnly).status == 200)
            let response = try await HTTP.request(.POST, gw.base + "/rooms", headers: [HTTP.bearer(readOnly)], body: Array("{}".utf8))
            #expect(response.status == 403)
            #expect(response.json["error"] as? String == "insufficient_scope")
            let header = response.header("WWW-Authenticate") ?? ""
            #expect(header.contains("error=\"insufficient_scope\"") && header.contains("scope=\"write\""), "\(header)")
        }
    }

    @Test func aRevokedTokenStopsWorkingWithinSeconds() async throws {
        try await GatewayHarness.run { gw in
            let token = try await gw.token()
            #expect(try await gw.get("/rooms", token: token).status == 200)
            let revoke = try await HTTP.form(
                "http://127.0.0.1:\(gw.ports.auth!)/oauth/revoke", [("token", token)], headers: [HTTP.basic("hotel-client", gw.demoSecret!)]
            )
            #expect(revoke.status == 200)
            // The gateway polls every 200 ms in this test (2 s by default); a busy machine may take longer.
            #expect(try await eventually { try await gw.get("/rooms", token: token).status == 401 })
            let response = try await gw.get("/rooms", token: token)
            #expect((response.json["error_description"] as? String)?.contains("revoked") == true)
            #expect(try await gw.get("/rooms", token: try await gw.token()).status == 200, "other tokens still work")
        }
    }

    @Test func aKeyRotationIsHonouredWithoutARestart() async throws {
        try await GatewayHarness.run { gw in
            let before = try await gw.token()
            #expect(try await gw.get("/rooms", token: before).status == 200)
            let newKey = try KeyStore(directory: gw.authConfiguration.keysDirectory).rotate()
            // The token server notices the new key within its poll interval.
            #expect(try await eventually { TokenVerifier.unverifiedKeyID(of: try await gw.token()) == newKey.kid })
            let after = try await gw.token()
            let response = try await gw.get("/rooms", token: after)
            #expect(response.status == 200, "the gateway fetches the new key at the first token that needs it: \(response.text)")
            #expect(try await gw.get("/rooms", token: before).status == 200, "tokens signed with the old key still pass")
        }
    }
}

/// The token server is not there when the gateway starts.
@Suite struct AuthOutageTests {
    @Test func theGatewayStartsWithoutTheTokenServerAndRecoversByItself() async throws {
        // A port for the token server that is not running yet: held (refusing connections) so
        // that nothing else can take it before the token server binds it.
        let held = try HeldPort()
        let authPort = held.port
        try await GatewayHarness.run(tokenServer: false, routes: { ports in
            var ports = ports
            ports.auth = authPort
            return [
                "auth": ports.auth_,
                "routes": [
                    ["id": "rooms", "path": "/rooms", "upstreams": [ports.upstream("a")], "scopes": GatewayHarness.readWrite],
                    ["id": "public", "path": "/public", "upstreams": [ports.upstream("a")], "public": true],
                ],
            ]
        }) { gw in
            #expect(try await gw.get("/public").status == 200, "public routes work without keys")
            let response = try await gw.get("/rooms", headers: [HTTP.bearer("eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.e30.c2ln")])
            expectJSONError(response, status: 503, error: "service_unavailable")
            #expect(response.header("Retry-After") != nil)

            // Now the token server comes up on the reserved port.
            var configuration = gw.authConfiguration
            configuration.port = authPort
            let signal = PortSignal()
            let (application, demo) = try await TokenServerForTests.build(configuration, signal)
            try await LiveServer.run(application, port: signal) { boundPort in
                #expect(boundPort == authPort)
                let token = try await TokenServerForTests.token(port: authPort, secret: demo!)
                #expect(try await eventually { try await gw.get("/rooms", token: token).status == 200 })
            }
            withExtendedLifetime(held) {}
        }
    }
}
