import Testing
import Tokens

/// Claims at the edges of Int64, found by the FuzzTokens target (Fuzz/corpus/Tokens/claims-huge-exp):
/// a signed token with `exp` 9223372036854775807 trapped the verifier (`exp + leeway` overflowed),
/// taking the gateway process down with it.
@Suite struct ClaimBoundsTests {
    let verifier = TokenVerifier(configuration: .init(issuer: "http://issuer.test", audience: "hotel-api", leewaySeconds: 60))

    func token(exp: Int64, nbf: Int64? = nil) throws -> String {
        var claims = TestKeys.claims()
        claims.exp = exp
        claims.nbf = nbf
        return try TokenSigner(key: TestKeys.first).sign(claims)
    }

    @Test func theLargestExpiryIsCheckedNotATrap() throws {
        let verified = try verifier.verify(try token(exp: .max), keys: TestKeys.keys(TestKeys.first))
        #expect(verified.claims.exp == .max)
    }

    @Test func theSmallestExpiryIsExpired() throws {
        #expect(throws: TokenError.expired(at: .min)) {
            try verifier.verify(try token(exp: .min), keys: TestKeys.keys(TestKeys.first))
        }
    }

    @Test func theLargestNotBeforeIsNotYetValid() throws {
        #expect(throws: TokenError.notYetValid(until: .max)) {
            try verifier.verify(try token(exp: .max, nbf: .max), keys: TestKeys.keys(TestKeys.first))
        }
    }
}
