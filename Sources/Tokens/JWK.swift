/// One JSON Web Key (RFC 7517) as Portier publishes and reads it: RSA signing keys only.
public struct JWK: Codable, Sendable, Equatable {
    public var kty: String
    public var kid: String?
    public var use: String?
    public var alg: String?
    public var n: String?
    public var e: String?

    public init(kty: String, kid: String?, use: String?, alg: String?, n: String?, e: String?) {
        self.kty = kty
        self.kid = kid
        self.use = use
        self.alg = alg
        self.n = n
        self.e = e
    }
}

/// A JWK Set document (`/.well-known/jwks.json`).
public struct JWKSet: Codable, Sendable, Equatable {
    public var keys: [JWK]

    public init(keys: [JWK]) {
        self.keys = keys
    }
}

extension RSAKey {
    /// The public half as a JWK with `use: sig`, `alg: RS256` and the thumbprint as `kid`.
    public var jwk: JWK {
        JWK(kty: "RSA", kid: thumbprint, use: "sig", alg: "RS256", n: Base64URL.encode(modulus), e: Base64URL.encode(exponent))
    }

    /// Builds a public key from a JWK; refuses anything that is not an RS256 signing key.
    public convenience init(jwk: JWK) throws(KeyError) {
        guard jwk.kty == "RSA" else { throw KeyError("JWK kty \"\(jwk.kty)\" is not RSA") }
        if let use = jwk.use, use != "sig" { throw KeyError("JWK use \"\(use)\" is not sig") }
        if let alg = jwk.alg, alg != "RS256" { throw KeyError("JWK alg \"\(alg)\" is not RS256") }
        guard let n = jwk.n.flatMap({ Base64URL.decode($0) }), let e = jwk.e.flatMap({ Base64URL.decode($0) }) else {
            throw KeyError("JWK n and e must be present and base64url encoded")
        }
        try self.init(modulus: n, exponent: e)
    }
}

/// Verification keys by `kid`, as read from a JWKS or a key ring.
public struct VerificationKeys: Sendable {
    public private(set) var byID: [String: RSAKey]

    public init(_ keys: [String: RSAKey] = [:]) {
        self.byID = keys
    }

    /// Reads every usable RS256 key of a JWKS; a key without `kid` is addressed by its thumbprint.
    /// Keys that are not RSA signing keys are skipped and reported, not fatal.
    public init(jwks: JWKSet, skipped: ((JWK, KeyError) -> Void)? = nil) {
        var keys: [String: RSAKey] = [:]
        for jwk in jwks.keys {
            do {
                let key = try RSAKey(jwk: jwk)
                keys[jwk.kid ?? key.thumbprint] = key
            } catch {
                skipped?(jwk, error)
            }
        }
        self.byID = keys
    }

    public subscript(kid: String) -> RSAKey? { byID[kid] }

    public var isEmpty: Bool { byID.isEmpty }
}
