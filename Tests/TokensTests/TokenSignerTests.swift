import CJWT
import Foundation
import Testing
@testable import Tokens

/// The EVP signer, checked by libjwt as an independent implementation: every token it writes must
/// decode with `jwt_decode` to exactly the claims that were signed.
@Suite struct TokenSignerTests {
    /// The claims libjwt reads from a token after verifying its signature with `key`'s public PEM.
    func libjwtDecode(_ token: String, key: RSAKey = TestKeys.first) throws -> (claims: TokenClaims, header: [String: String]) {
        let pem = Array(try key.publicKeyPEM().utf8)
        var jwt: OpaquePointer?
        let status = pem.withUnsafeBufferPointer { jwt_decode(&jwt, token, $0.baseAddress, Int32($0.count)) }
        defer { jwt_free(jwt) }
        guard status == 0, let json = jwt_get_grants_json(jwt, nil) else { throw LibjwtRefused(status: status) }
        defer { portier_jwt_free_string(json) }
        let claims = try JSONDecoder().decode(TokenClaims.self, from: Data(String(cString: json).utf8))
        var header: [String: String] = [:]
        for name in ["alg", "kid", "typ"] {
            if let value = jwt_get_header(jwt, name) { header[name] = String(cString: value) }
        }
        return (claims, header)
    }

    @Test func libjwtReadsExactlyTheSignedClaimsForManyShapes() throws {
        let signer = try TokenSigner(key: TestKeys.first)
        let now = TokenVerifier.now()
        let shapes: [TokenClaims] = [
            TestKeys.claims(),
            TokenClaims(
                iss: "http://127.0.0.1:8090/realms/a/b", sub: "svc/books", aud: ["hotel-api", "other"], clientID: "svc/books",
                scope: "payments:write read", iat: now, nbf: now, exp: now + 60, jti: "j-1", authorities: ["ROLE_A", "ROLE_B"]
            ),
            TokenClaims(
                iss: "http://auth.test", sub: "gäst \"quoted\" \\ back", aud: ["hotel-api"], clientID: "c", scope: "", iat: now, nbf: now,
                exp: now + 1, jti: String(repeating: "x", count: 500)
            ),
            // Control characters the hand-written JSON must escape, and an empty list it must keep.
            TokenClaims(
                iss: "http://auth.test", sub: "tab\there\nnew line\r\u{1}\u{1F}/slash", aud: ["hotel-api"], clientID: "c", scope: "read",
                iat: now, nbf: now, exp: now + 1, jti: "🏨", authorities: []
            ),
        ]
        for claims in shapes {
            let token = try signer.sign(claims)
            let decoded = try libjwtDecode(token)
            #expect(decoded.claims == claims)
            #expect(decoded.header == ["alg": "RS256", "kid": TestKeys.first.thumbprint, "typ": "JWT"])
            let verifier = TokenVerifier(configuration: .init(issuer: claims.iss, audience: "hotel-api"))
            #expect(try verifier.verify(token, keys: TestKeys.keys(TestKeys.first), now: now).claims == claims, "the EVP verifier agrees")
        }
    }

    struct LibjwtRefused: Error, Equatable {
        let status: Int32
    }

    @Test func aTokenSignedWithOneKeyDoesNotVerifyWithAnother() throws {
        let token = try TokenSigner(key: TestKeys.second).sign(TestKeys.claims())
        #expect(throws: LibjwtRefused.self) { try libjwtDecode(token, key: TestKeys.first) }
        #expect((try? libjwtDecode(token, key: TestKeys.second)) != nil)
    }

    /// Signing contexts are reused across tokens and threads: many concurrent signers must each
    /// get a context of their own and produce valid, distinct signatures.
    @Test func concurrentSigningGivesValidTokens() async throws {
        let signer = try TokenSigner(key: TestKeys.first)
        let tokens = try await withThrowingTaskGroup(of: (TokenClaims, String).self) { group in
            for index in 0..<64 {
                group.addTask {
                    var claims = TestKeys.claims()
                    claims.jti = "concurrent-\(index)"
                    return (claims, try signer.sign(claims))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(tokens.count == 64)
        for (claims, token) in tokens {
            #expect(try libjwtDecode(token).claims == claims)
        }
        #expect(Set(tokens.map(\.1)).count == 64)
    }

    @Test func aPublicKeyCannotMakeASigner() throws {
        let publicOnly = try RSAKey(pem: try TestKeys.first.publicKeyPEM())
        #expect(throws: KeyError.self) { try TokenSigner(key: publicOnly) }
    }
}
