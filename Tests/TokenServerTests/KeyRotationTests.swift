import Foundation
import PortierTestSupport
import Testing
import Tokens

@Suite struct KeyRotationTests {
    @Test func aRunningServerPicksUpARotationAndOldTokensStillVerify() async throws {
        try await AuthFixture.run { auth in
            let oldToken = try await auth.token()
            let oldKid = try #require(TokenVerifier.unverifiedKeyID(of: oldToken))

            // What `portier keys rotate` does, from outside the server.
            let newKey = try KeyStore(directory: auth.keysDirectory).rotate()
            #expect(try await eventually { try await auth.verifierKeys()[newKey.kid] != nil })

            let jwks = try await HTTP.request(.GET, auth.base + "/.well-known/jwks.json").json["keys"] as? [[String: Any]]
            #expect(jwks?.compactMap { $0["kid"] as? String } == [newKey.kid, oldKid])

            let newToken = try await auth.token()
            #expect(TokenVerifier.unverifiedKeyID(of: newToken) == newKey.kid)
            let keys = try await auth.verifierKeys()
            #expect(try auth.verifier.verify(oldToken, keys: keys).kid == oldKid)
            #expect(try auth.verifier.verify(newToken, keys: keys).kid == newKey.kid)
        }
    }

    @Test func jwksAndDiscoveryDocumentsAreComplete() async throws {
        try await AuthFixture.run { auth in
            let jwks = try await HTTP.request(.GET, auth.base + "/.well-known/jwks.json")
            #expect(jwks.status == 200)
            #expect(jwks.header("Cache-Control")?.contains("max-age=") == true)
            let key = try #require((jwks.json["keys"] as? [[String: Any]])?.first)
            #expect(key["kty"] as? String == "RSA" && key["use"] as? String == "sig" && key["alg"] as? String == "RS256")
            #expect(key["e"] as? String == "AQAB" && (key["n"] as? String)?.count == 342 && key["kid"] is String)

            let metadata = try await HTTP.request(.GET, auth.base + "/.well-known/oauth-authorization-server").json
            #expect(metadata["issuer"] as? String == "http://auth.test")
            #expect(metadata["token_endpoint"] as? String == "http://auth.test/oauth/token")
            #expect(metadata["jwks_uri"] as? String == "http://auth.test/.well-known/jwks.json")
            #expect(metadata["introspection_endpoint"] as? String == "http://auth.test/oauth/introspect")
            #expect(metadata["revocation_endpoint"] as? String == "http://auth.test/oauth/revoke")
            #expect(metadata["grant_types_supported"] as? [String] == ["client_credentials"])
            #expect(metadata["token_endpoint_auth_methods_supported"] as? [String] == ["client_secret_basic", "client_secret_post"])
            #expect(
                metadata["scopes_supported"] as? [String] == ["introspect", "payments:write", "read", "write"],
                "the local gateway client has scope introspect, books' client payments:write"
            )
        }
    }

    @Test func healthProbesAnswer() async throws {
        try await AuthFixture.run { auth in
            let live = try await HTTP.request(.GET, auth.base + "/health/live")
            let ready = try await HTTP.request(.GET, auth.base + "/health/ready")
            #expect(live.status == 200 && live.json["status"] as? String == "up")
            #expect(ready.status == 200 && ready.json["status"] as? String == "up")
        }
    }
}
