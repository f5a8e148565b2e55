import CJWT
import Foundation
import PortierTestSupport
import Testing
import Tokens

@Suite struct TokenEndpointTests {
    @Test(arguments: AuthFixture.Engine.allCases) func basicAuthTokenVerifiesWithTheServedJWKSAndWithLibjwt(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let response = try await HTTP.form(auth.tokenURL, [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", auth.demoSecret)])
            #expect(response.status == 200)
            #expect(response.header("Cache-Control") == "no-store")
            #expect(response.header("Pragma") == "no-cache")
            #expect(response.header("Content-Type") == "application/json")
            let body = response.json
            #expect(body["token_type"] as? String == "Bearer")
            #expect(body["expires_in"] as? Int == 3600)
            #expect(body["scope"] as? String == "read write")
            let token = try #require(body["access_token"] as? String)

            let verified = try auth.verifier.verify(token, keys: try await auth.verifierKeys())
            #expect(verified.claims.sub == "hotel-client" && verified.claims.clientID == "hotel-client")
            #expect(verified.claims.aud == ["hotel-api"] && verified.claims.iss == "http://auth.test")
            #expect(verified.claims.jti == body["jti"] as? String)
            let iat = try #require(verified.claims.iat)
            #expect(verified.claims.nbf == iat && verified.claims.exp == iat + 3600)

            let pemPath = try #require(FileManager.default.contentsOfDirectory(atPath: auth.keysDirectory).first { $0.hasSuffix(".pub.pem") })
            let pem = Array(try String(contentsOfFile: auth.keysDirectory + "/" + pemPath, encoding: .utf8).utf8)
            var jwt: OpaquePointer?
            let decoded = pem.withUnsafeBufferPointer { jwt_decode(&jwt, token, $0.baseAddress, Int32($0.count)) }
            defer { jwt_free(jwt) }
            #expect(decoded == 0)
            #expect(String(cString: jwt_get_header(jwt, "kid")) == verified.kid)
            #expect(String(cString: jwt_get_header(jwt, "typ")) == "JWT")
        }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func formPostAuthenticationWorksToo(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let response = try await HTTP.form(
                auth.tokenURL, [("grant_type", "client_credentials"), ("client_id", "hotel-client"), ("client_secret", auth.demoSecret)]
            )
            #expect(response.status == 200)
            let token = try #require(response.json["access_token"] as? String)
            #expect(try auth.verifier.verify(token, keys: try await auth.verifierKeys()).claims.scope == "read write")
        }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func scopeCanBeNarrowedButNotWidened(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let narrowed = try await HTTP.form(
                auth.tokenURL, [("grant_type", "client_credentials"), ("scope", "read")], headers: [HTTP.basic("hotel-client", auth.demoSecret)]
            )
            #expect(narrowed.status == 200 && narrowed.json["scope"] as? String == "read")
            let claims = try auth.verifier.verify(narrowed.json["access_token"] as! String, keys: try await auth.verifierKeys()).claims
            #expect(claims.scope == "read")

            let widened = try await HTTP.form(
                auth.tokenURL, [("grant_type", "client_credentials"), ("scope", "read admin")], headers: [HTTP.basic("hotel-client", auth.demoSecret)]
            )
            #expect(widened.status == 400)
            #expect(widened.json["error"] as? String == "invalid_scope")
            #expect((widened.json["error_description"] as? String)?.contains("admin") == true)
        }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func authoritiesClaimIsPresentWhenTheClientHasRoles(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let store = try ClientStoreForTests.open(auth)
            let (_, secret) = try await store.add(id: "rooms-admin", scopes: ["read"], authorities: ["ROLE_ADMIN", "ROLE_HOST"], tokenTTL: 600)
            let (_, plainSecret) = try await store.add(id: "plain", scopes: ["read"])
            let keys = try await auth.verifierKeys()

            let admin = try auth.verifier.verify(try await auth.token(client: "rooms-admin", secret: secret), keys: keys).claims
            #expect(admin.authorities == ["ROLE_ADMIN", "ROLE_HOST"])
            #expect(admin.exp! - admin.iat! == 600)
            let plain = try auth.verifier.verify(try await auth.token(client: "plain", secret: plainSecret), keys: keys).claims
            #expect(plain.authorities == nil)
        }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func everyIssuedTokenHasAFreshJti(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            var seen = Set<String>()
            for _ in 0..<5 {
                let claims = try auth.verifier.verify(try await auth.token(), keys: try await auth.verifierKeys()).claims
                seen.insert(try #require(claims.jti))
            }
            #expect(seen.count == 5)
        }
    }
}
