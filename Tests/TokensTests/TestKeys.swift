import Tokens

/// RSA keys are slow to generate; tests share a few.
enum TestKeys {
    static let first = try! RSAKey.generate()
    static let second = try! RSAKey.generate()

    static func keys(_ list: RSAKey...) -> VerificationKeys {
        VerificationKeys(Dictionary(uniqueKeysWithValues: list.map { ($0.thumbprint, $0) }))
    }

    static func claims(
        now: Int64 = TokenVerifier.now(), lifetime: Int64 = 3600, iss: String = "http://issuer.test", aud: [String] = ["hotel-api"]
    ) -> TokenClaims {
        TokenClaims(
            iss: iss, sub: "hotel-client", aud: aud, clientID: "hotel-client", scope: "read write", iat: now, nbf: now,
            exp: now + lifetime, jti: Crypto.randomToken(bytes: 16)
        )
    }

    static let verifier = TokenVerifier(configuration: .init(issuer: "http://issuer.test", audience: "hotel-api", leewaySeconds: 60))

    /// Builds a compact JWS by hand, so tests can produce tokens no honest signer would.
    static func handmade(header: String, payload: String, signature: [UInt8]) -> String {
        "\(Base64URL.encode(header)).\(Base64URL.encode(payload)).\(Base64URL.encode(signature))"
    }

    /// An RS256 token signed with EVP (not libjwt) over arbitrary header and payload JSON.
    static func rs256(header: String, payload: String, key: RSAKey = first) throws -> String {
        let input = "\(Base64URL.encode(header)).\(Base64URL.encode(payload))"
        return input + "." + Base64URL.encode(try key.sign(digest: Crypto.sha256(input)))
    }
}
