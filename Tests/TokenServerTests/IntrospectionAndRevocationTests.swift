import Foundation
import PortierTestSupport
import Testing
import Tokens

@Suite struct IntrospectionAndRevocationTests {
    static let readerSecret = "introspector-secret-for-tests"

    /// A client with the `introspect` scope (created on first use), as a gateway has.
    func reader(_ auth: AuthFixture) async throws -> (String, String) {
        let store = try ClientStoreForTests.open(auth)
        if try await store.find(id: "introspector") == nil {
            _ = try await store.add(id: "introspector", scopes: ["introspect"], secret: Self.readerSecret)
        }
        return ("introspector", Self.readerSecret)
    }

    func introspect(_ auth: AuthFixture, _ token: String) async throws -> TestHTTPResponse {
        let (id, secret) = try await reader(auth)
        return try await HTTP.form(auth.base + "/oauth/introspect", [("token", token)], headers: [HTTP.basic(id, secret)])
    }

    @Test(arguments: AuthFixture.Engine.allCases) func aValidTokenIsActiveWithItsClaims(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let token = try await auth.token(scope: "read")
            let response = try await introspect(auth, token)
            #expect(response.status == 200)
            let body = response.json
            #expect(body["active"] as? Bool == true)
            #expect(body["client_id"] as? String == "hotel-client")
            #expect(body["scope"] as? String == "read")
            #expect(body["token_type"] as? String == "Bearer")
            #expect(body["iss"] as? String == "http://auth.test")
            #expect(body["exp"] is Int)
        }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func garbageAndForgeriesAreInactiveNotErrors(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            for token in ["garbage", "a.b.c", String(repeating: "x", count: 20_000)] {
                let response = try await introspect(auth, token)
                #expect(response.status == 200)
                #expect(response.text == "{\"active\":false}")
            }
            // Signed by a key the server does not have.
            let foreign = try TokenSigner(key: RSAKey.generate()).sign(
                TokenClaims(iss: "http://auth.test", sub: "x", aud: ["hotel-api"], clientID: "x", scope: "read", iat: 0, nbf: 0, exp: TokenVerifier.now() + 60, jti: "j")
            )
            #expect(try await introspect(auth, foreign).json["active"] as? Bool == false)
        }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func introspectionRequiresClientAuthentication(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let token = try await auth.token()
            let response = try await HTTP.form(auth.base + "/oauth/introspect", [("token", token)])
            #expect(response.status == 401)
            #expect(response.json["error"] as? String == "invalid_client")
        }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func revocationMakesTheTokenInactiveAndListsItsJti(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let token = try await auth.token()
            let jti = try #require(TokenVerifierForTests.claims(of: token).jti)
            let revoke = try await HTTP.form(auth.base + "/oauth/revoke", [("token", token)], headers: [HTTP.basic("hotel-client", auth.demoSecret)])
            #expect(revoke.status == 200)
            #expect(revoke.header("Cache-Control") == "no-store")

            #expect(try await introspect(auth, token).json["active"] as? Bool == false)

            let (readerID, readerSecret) = try await reader(auth)
            let list = try await HTTP.request(.GET, auth.base + "/oauth/revocations", headers: [HTTP.basic(readerID, readerSecret)])
            #expect(list.status == 200)
            let entries = try #require(list.json["revocations"] as? [[String: Any]])
            #expect(entries.contains { $0["jti"] as? String == jti && $0["exp"] is Int })

            let other = try await auth.token()
            #expect(try await introspect(auth, other).json["active"] as? Bool == true, "other tokens stay active")
        }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func revokingGarbageIsStillA200(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let response = try await HTTP.form(auth.base + "/oauth/revoke", [("token", "not-a-token")], headers: [HTTP.basic("hotel-client", auth.demoSecret)])
            #expect(response.status == 200)
        }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func aClientCannotRevokeAnotherClientsToken(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let (_, secret) = try await ClientStoreForTests.open(auth).add(id: "intruder", scopes: ["read"])
            let victim = try await auth.token()
            let response = try await HTTP.form(auth.base + "/oauth/revoke", [("token", victim)], headers: [HTTP.basic("intruder", secret)])
            #expect(response.status == 400)
            #expect(response.json["error"] as? String == "unauthorized_client")
            #expect(try await introspect(auth, victim).json["active"] as? Bool == true)
        }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func theRevocationListRequiresClientAuthentication(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let response = try await HTTP.request(.GET, auth.base + "/oauth/revocations")
            #expect(response.status == 401)
        }
    }
}

enum TokenVerifierForTests {
    /// Reads claims without verifying; only for asserting on tokens a test already trusts.
    static func claims(of token: String) throws -> TokenClaims {
        let payload = token.split(separator: ".")[1]
        return try JSONDecoder().decode(TokenClaims.self, from: Data(Base64URL.decode(payload)!))
    }
}
