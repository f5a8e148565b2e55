import Testing
@testable import Tokens

@Suite struct RSAKeyTests {
    /// RFC 7638 section 3.1: the published example key and its thumbprint.
    @Test func thumbprintMatchesRFC7638Example() throws {
        let jwk = JWK(
            kty: "RSA", kid: nil, use: nil, alg: nil,
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            e: "AQAB"
        )
        #expect(try RSAKey(jwk: jwk).thumbprint == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    }

    @Test func convertsBetweenPEMAndJWK() throws {
        let key = TestKeys.first
        let jwk = key.jwk
        #expect(jwk.kty == "RSA" && jwk.use == "sig" && jwk.alg == "RS256" && jwk.e == "AQAB")
        #expect(jwk.kid == key.thumbprint)

        let fromJWK = try RSAKey(jwk: jwk)
        #expect(!fromJWK.isPrivate)
        #expect(fromJWK.modulus == key.modulus)
        #expect(try fromJWK.publicKeyPEM() == key.publicKeyPEM())

        let fromPrivatePEM = try RSAKey(pem: key.privateKeyPEM())
        #expect(fromPrivatePEM.isPrivate && fromPrivatePEM.thumbprint == key.thumbprint)
        let fromPublicPEM = try RSAKey(pem: key.publicKeyPEM())
        #expect(!fromPublicPEM.isPrivate && fromPublicPEM.jwk == jwk)
    }

    @Test func refusesWeakAndForeignKeys() throws {
        #expect(throws: KeyError.self) { try RSAKey.generate(bits: 1024) }
        #expect(throws: KeyError.self) { try RSAKey(pem: "-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n") }
        var jwk = TestKeys.first.jwk
        jwk.alg = "RS512"
        #expect(throws: KeyError.self) { try RSAKey(jwk: jwk) }
        jwk = TestKeys.first.jwk
        jwk.kty = "EC"
        #expect(throws: KeyError.self) { try RSAKey(jwk: jwk) }
    }

    @Test func verificationKeysFromAJWKSSkipUnusableEntries() throws {
        var broken = TestKeys.second.jwk
        broken.n = "!!"
        let jwks = JWKSet(keys: [TestKeys.first.jwk, broken])
        var skipped = 0
        let keys = VerificationKeys(jwks: jwks) { _, _ in skipped += 1 }
        #expect(keys[TestKeys.first.thumbprint] != nil)
        #expect(keys[TestKeys.second.thumbprint] == nil)
        #expect(skipped == 1)
    }
}
