import CJWT
import Testing
@testable import Tokens

@Suite struct TokenVerifierTests {
    let keys = TestKeys.keys(TestKeys.first)
    let verifier = TestKeys.verifier

    func signed(_ claims: TokenClaims = TestKeys.claims(), key: RSAKey = TestKeys.first) throws -> String {
        try TokenSigner(key: key).sign(claims)
    }

    func rejection(_ token: String, keys: VerificationKeys? = nil, now: Int64 = TokenVerifier.now()) -> TokenError? {
        do {
            _ = try verifier.verify(token, keys: keys ?? self.keys, now: now)
            return nil
        } catch {
            return error
        }
    }

    @Test func libjwtSignedTokenVerifiesWithEVPAndCarriesTheClaims() throws {
        let claims = TestKeys.claims()
        let token = try signed(claims)
        let verified = try verifier.verify(token, keys: keys)
        #expect(verified.kid == TestKeys.first.thumbprint)
        #expect(verified.claims == claims)
    }

    @Test func libjwtDecodeAcceptsOurTokenWithThePublicPEM() throws {
        let token = try signed()
        let pem = Array(try TestKeys.first.publicKeyPEM().utf8)
        var jwt: OpaquePointer?
        let result = pem.withUnsafeBufferPointer { jwt_decode(&jwt, token, $0.baseAddress, Int32($0.count)) }
        defer { jwt_free(jwt) }
        #expect(result == 0)
        #expect(jwt_get_alg(jwt) == JWT_ALG_RS256)
        #expect(String(cString: jwt_get_grant(jwt, "client_id")) == "hotel-client")
    }

    @Test func evpSignedTokenVerifiesWithLibjwtToo() throws {
        let claims = TestKeys.claims()
        let header = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"\(TestKeys.first.thumbprint)\"}"
        let token = try TestKeys.rs256(header: header, payload: "{\"exp\":\(claims.exp!),\"iss\":\"http://issuer.test\",\"aud\":\"hotel-api\"}")
        let pem = Array(try TestKeys.first.publicKeyPEM().utf8)
        var jwt: OpaquePointer?
        let result = pem.withUnsafeBufferPointer { jwt_decode(&jwt, token, $0.baseAddress, Int32($0.count)) }
        jwt_free(jwt)
        #expect(result == 0)
        #expect(rejection(token) == nil)
    }

    @Test func rejectsAlgNone() throws {
        let payload = "{\"exp\":\(TokenVerifier.now() + 600),\"iss\":\"http://issuer.test\",\"aud\":\"hotel-api\"}"
        let token = "\(Base64URL.encode("{\"alg\":\"none\",\"kid\":\"\(TestKeys.first.thumbprint)\"}")).\(Base64URL.encode(payload))."
        #expect(rejection(token) == .unsupportedAlgorithm("none"))
    }

    /// The algorithm-confusion attack: HS256 "signed" with the RSA public key PEM as HMAC secret.
    /// Debian's libjwt 1.10 takes alg from the header and accepts it; the EVP verifier must not.
    @Test func rejectsHS256MACedWithThePublicKeyPEM() throws {
        let pem = Array(try TestKeys.first.publicKeyPEM().utf8)
        let header = Base64URL.encode("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"\(TestKeys.first.thumbprint)\"}")
        let payload = Base64URL.encode("{\"exp\":\(TokenVerifier.now() + 600),\"iss\":\"http://issuer.test\",\"aud\":\"hotel-api\",\"scope\":\"admin\"}")
        let token = "\(header).\(payload).\(Base64URL.encode(Crypto.hmacSHA256(key: pem, data: Array("\(header).\(payload)".utf8))))"

        var jwt: OpaquePointer?
        let libjwtResult = pem.withUnsafeBufferPointer { jwt_decode(&jwt, token, $0.baseAddress, Int32($0.count)) }
        jwt_free(jwt)
        #expect(libjwtResult == 0, "libjwt 1.10 accepts the forged token; this is why it never verifies")
        #expect(rejection(token) == .unsupportedAlgorithm("HS256"))
    }

    @Test func rejectsATamperedPayload() throws {
        let parts = try signed().split(separator: ".").map(String.init)
        var claims = TestKeys.claims()
        claims.scope = "read write admin"
        let forgedPayload = Base64URL.encode(Array(try JSONEncoderForTests.encode(claims)))
        #expect(rejection("\(parts[0]).\(forgedPayload).\(parts[2])") == .invalidSignature)
    }

    @Test func rejectsATamperedSignature() throws {
        let parts = try signed().split(separator: ".").map(String.init)
        var signature = Base64URL.decode(parts[2])!
        signature[10] ^= 0x01
        #expect(rejection("\(parts[0]).\(parts[1]).\(Base64URL.encode(signature))") == .invalidSignature)
    }

    @Test func rejectsATokenFromAnotherKeyWithTheSameKid() throws {
        let header = "{\"alg\":\"RS256\",\"kid\":\"\(TestKeys.first.thumbprint)\"}"
        let token = try TestKeys.rs256(header: header, payload: "{\"exp\":\(TokenVerifier.now() + 60)}", key: TestKeys.second)
        #expect(rejection(token) == .invalidSignature)
    }

    @Test func rejectsAnUnknownOrMissingKid() throws {
        let token = try signed(key: TestKeys.second)
        #expect(rejection(token) == .unknownKeyID(TestKeys.second.thumbprint))
        let noKid = try TestKeys.rs256(header: "{\"alg\":\"RS256\"}", payload: "{\"exp\":\(TokenVerifier.now() + 60)}")
        #expect(rejection(noKid) == .missingKeyID)
    }

    @Test func expiryHonoursTheLeewayAndNoMore() throws {
        let now = TokenVerifier.now()
        let token = try signed(TestKeys.claims(now: now - 3600, lifetime: 3600))
        #expect(rejection(token, now: now + 60) == nil, "within the 60 s leeway")
        #expect(rejection(token, now: now + 61) == .expired(at: now))
    }

    @Test func rejectsNotBeforeInTheFuture() throws {
        let now = TokenVerifier.now()
        var claims = TestKeys.claims(now: now)
        claims.nbf = now + 120
        let token = try signed(claims)
        #expect(rejection(token, now: now) == .notYetValid(until: now + 120))
        #expect(rejection(token, now: now + 60) == nil, "nbf minus leeway has passed")
    }

    @Test func rejectsWrongIssuerAndAudience() throws {
        #expect(rejection(try signed(TestKeys.claims(iss: "http://evil.test"))) == .invalidIssuer("http://evil.test"))
        #expect(rejection(try signed(TestKeys.claims(aud: ["other-api"]))) == .invalidAudience(expected: "hotel-api"))
        #expect(rejection(try signed(TestKeys.claims(aud: ["other-api", "hotel-api"]))) == nil, "aud may be an array")
    }

    @Test func rejectsATokenWithoutExp() throws {
        let token = try TestKeys.rs256(
            header: "{\"alg\":\"RS256\",\"kid\":\"\(TestKeys.first.thumbprint)\"}",
            payload: "{\"iss\":\"http://issuer.test\",\"aud\":\"hotel-api\"}"
        )
        #expect(rejection(token) == .missingClaim("exp"))
    }

    @Test(arguments: [
        "", "abc", "a.b", "a.b.c.d", "..", "eyJhbGciOiJSUzI1NiJ9..sig", "!!!.e30.c2ln", "e30=.e30.c2ln",
        "bm90LWpzb24.e30.c2ln",
    ])
    func rejectsMalformedTokens(_ token: String) {
        guard case .malformed = rejection(token) else {
            Issue.record("\(token) was not rejected as malformed: \(String(describing: rejection(token)))")
            return
        }
    }

    @Test func rejectsBadBase64InTheSignature() throws {
        let parts = try signed().split(separator: ".").map(String.init)
        #expect(rejection("\(parts[0]).\(parts[1]).\(parts[2])+=") == .malformed("signature is not base64url"))
    }

    @Test func rejectsAHundredKilobyteTokenBeforeParsingIt() throws {
        let header = Base64URL.encode("{\"alg\":\"RS256\",\"kid\":\"\(TestKeys.first.thumbprint)\"}")
        let token = header + "." + String(repeating: "A", count: 100_000) + ".c2ln"
        #expect(rejection(token) == .tooLarge(limit: 8192))
    }

    @Test func errorDescriptionsAreFitForUsers() {
        #expect(TokenError.unsupportedAlgorithm("none").description == "algorithm \"none\" is not accepted, only RS256")
        #expect(TokenError.expired(at: 0).description.hasPrefix("token expired at 1970-01-01T00:00:00"))
        #expect(TokenError.invalidAudience(expected: "hotel-api").description == "token is not intended for audience \"hotel-api\"")
    }
}
