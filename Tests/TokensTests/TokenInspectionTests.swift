import Testing
@testable import Tokens

/// `portier tokens inspect`'s judgement, read through libjwt: each refusal names its reason.
@Suite struct TokenInspectionTests {
    let keys = TestKeys.keys(TestKeys.first)

    func verdict(_ token: String, keys: VerificationKeys? = nil, now: Int64 = TokenVerifier.now()) -> TokenInspection.Verdict {
        TokenInspection.inspect(token, keys: keys ?? self.keys, issuer: "http://issuer.test", audience: "hotel-api", now: now).verdict
    }

    func refusal(_ verdict: TokenInspection.Verdict) -> String {
        if case .refused(let reason) = verdict { return reason }
        return "valid"
    }

    @Test func aCurrentTokenIsValidAndNamesItsKeyAndClient() throws {
        let claims = TestKeys.claims()
        let inspection = TokenInspection.inspect(try TokenSigner(key: TestKeys.first).sign(claims), keys: keys)
        #expect(inspection.verdict == .valid)
        #expect(inspection.signatureVerified)
        #expect(inspection.kid == TestKeys.first.thumbprint && inspection.algorithm == "RS256")
        #expect(inspection.claims == claims)
    }

    @Test func anExpiredTokenSaysWhenItExpired() throws {
        let now = TokenVerifier.now()
        let token = try TokenSigner(key: TestKeys.first).sign(TestKeys.claims(now: now - 7_200, lifetime: 3_600))
        let reason = refusal(verdict(token, now: now))
        #expect(reason.hasPrefix("expired at ") && reason.hasSuffix("(60 min ago)"), "\(reason)")
    }

    @Test func aKeyNotInTheSetIsNamed() throws {
        let token = try TokenSigner(key: TestKeys.second).sign(TestKeys.claims())
        #expect(refusal(verdict(token)).contains("key \(TestKeys.second.thumbprint) is not among"))
    }

    @Test func aForgedSignatureIsRefusedByLibjwt() throws {
        // The second key signs, but the header claims the first key's kid.
        let header = "{\"alg\":\"RS256\",\"kid\":\"\(TestKeys.first.thumbprint)\",\"typ\":\"JWT\"}"
        let payload = "{\"iss\":\"http://issuer.test\",\"aud\":\"hotel-api\",\"sub\":\"x\",\"exp\":\(TokenVerifier.now() + 600)}"
        let forged = try TestKeys.rs256(header: header, payload: payload, key: TestKeys.second)
        let inspection = TokenInspection.inspect(forged, keys: keys)
        #expect(refusal(inspection.verdict) == "the signature does not verify with key \(TestKeys.first.thumbprint) (libjwt)")
        #expect(!inspection.signatureVerified)
        #expect(inspection.claims?.sub == "x", "the unverified claims are still shown")
    }

    @Test func hs256AndNoneAreRefusedBeforeLibjwtSeesThem() throws {
        let payload = "{\"exp\":\(TokenVerifier.now() + 600)}"
        let pem = try TestKeys.first.publicKeyPEM()
        let hs256 = TestKeys.handmade(header: "{\"alg\":\"HS256\",\"kid\":\"\(TestKeys.first.thumbprint)\"}", payload: payload, signature: Crypto.sha256(pem))
        #expect(refusal(verdict(hs256)).hasPrefix("alg HS256 is not accepted"))
        let none = TestKeys.handmade(header: "{\"alg\":\"none\"}", payload: payload, signature: [])
        #expect(refusal(verdict(none)).hasPrefix("alg none is not accepted"))
    }

    @Test func claimChecksMatchTheGateway() throws {
        let signer = try TokenSigner(key: TestKeys.first)
        #expect(refusal(verdict(try signer.sign(TestKeys.claims(iss: "http://evil.test")))) == "issued by http://evil.test, not http://issuer.test")
        #expect(refusal(verdict(try signer.sign(TestKeys.claims(aud: ["other"])))) == "meant for other, not hotel-api")
        var anonymous = TestKeys.claims()
        anonymous.sub = nil
        anonymous.clientID = nil
        #expect(refusal(verdict(try signer.sign(anonymous))) == "the token names no client (no sub, no client_id)")
        let now = TokenVerifier.now()
        #expect(refusal(verdict(try signer.sign(TestKeys.claims(now: now + 7_200)), now: now)).hasPrefix("not valid before"))
    }

    @Test func hostileTokensGetAReasonNotACrash() throws {
        let huge = "{\"iss\":\"http://issuer.test\",\"aud\":\"hotel-api\",\"sub\":\"x\",\"exp\":1e300,\"nbf\":-9223372036854775808}"
        let header = "{\"alg\":\"RS256\",\"kid\":\"\(TestKeys.first.thumbprint)\"}"
        let signedHuge = try TestKeys.rs256(header: header, payload: huge)
        #expect(refusal(verdict(signedHuge)) != "valid")
        let extreme = "{\"iss\":\"http://issuer.test\",\"aud\":\"hotel-api\",\"sub\":\"x\",\"exp\":-9223372036854775808}"
        #expect(refusal(verdict(try TestKeys.rs256(header: header, payload: extreme))).hasPrefix("expired at -9223372036854775808"))
        for garbage in ["", ".", "..", "a.b.c", "\u{0}.\u{0}.\u{0}", String(repeating: "A", count: 10_000), "eyJhbGciOiJSUzI1NiJ9.e30"] {
            #expect(refusal(verdict(garbage)) != "valid", "\(garbage.prefix(20))")
        }
    }
}
