import Testing
import Tokens

/// Public keys from a JWKS must be real RSA keys. Found by FuzzTokens
/// (Fuzz/corpus/Tokens/jwks-exponent-zero): OpenSSL built a "key" with exponent 0 from a JWKS,
/// and would as well with exponent 1, for which any padded digest is its own signature.
@Suite struct DegenerateKeyTests {
    let modulus = TestKeys.first.modulus

    @Test(arguments: [[0], [0, 0], [1], [0, 1], [2], [1, 0, 0]] as [[UInt8]])
    func aDegenerateExponentIsRefused(_ exponent: [UInt8]) {
        #expect(throws: KeyError.self) { try RSAKey(modulus: modulus, exponent: exponent) }
    }

    @Test func anEvenModulusIsRefused() {
        var even = modulus
        even[even.count - 1] &= 0xFE
        #expect(throws: KeyError.self) { try RSAKey(modulus: even, exponent: [1, 0, 1]) }
    }

    @Test func theUsualKeysStillLoad() throws {
        #expect(try RSAKey(modulus: modulus, exponent: [1, 0, 1]).thumbprint == TestKeys.first.thumbprint)
        #expect(try RSAKey(modulus: modulus, exponent: [3]).exponent == [3])
    }

    @Test func aJWKSSkipsTheDegenerateKeyAndKeepsTheGoodOne() {
        var bad = TestKeys.first.jwk
        bad.kid = "bad"
        bad.e = "AQ"
        var skipped: [String?] = []
        let keys = VerificationKeys(jwks: JWKSet(keys: [bad, TestKeys.first.jwk])) { jwk, _ in skipped.append(jwk.kid) }
        #expect(skipped == ["bad"])
        #expect(keys["bad"] == nil)
        #expect(keys[TestKeys.first.thumbprint] != nil)
    }
}
