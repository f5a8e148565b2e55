#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Signs access tokens as RS256 JWTs with OpenSSL EVP, adding the key's `kid` to the header.
///
/// The key is decoded once, when the signer is made, and the signature operation is set up once
/// per signing thread (``SigningContextPool``), so a token costs one RSA private-key operation and
/// little else. libjwt decoded the PEM on every token, which under OpenSSL 3 cost more than the
/// signature itself; it stays as the independent check of what this signer writes (the tests
/// decode every issued token with `jwt_decode`) and behind `portier tokens inspect`.
public struct TokenSigner: Sendable {
    /// The `kid` written into every token header.
    public let kid: String
    private let contexts: SigningContextPool
    /// `base64url({"alg":"RS256","kid":"…","typ":"JWT"}) + "."`, the same for every token of the key.
    private let headerPrefix: [UInt8]

    public init(key: RSAKey) throws(KeyError) {
        self.kid = key.thumbprint
        self.contexts = try SigningContextPool(key: key)
        // The kid is a base64url thumbprint: nothing in it needs JSON escaping. `typ: JWT` as libjwt,
        // Spring and Keycloak write it.
        self.headerPrefix = Array((Base64URL.encode("{\"alg\":\"RS256\",\"kid\":\"\(kid)\",\"typ\":\"JWT\"}") + ".").utf8)
    }

    /// Returns the compact JWS of the claims.
    public func sign(_ claims: TokenClaims) throws -> String {
        var token = headerPrefix
        token += Base64URL.encode(claims.jsonBytes()).utf8
        let digest = token.withUnsafeBytes { Crypto.sha256(buffer: $0) }
        var signature = [UInt8](repeating: 0, count: contexts.signatureSize)
        let length = try signature.withUnsafeMutableBufferPointer { out in
            try digest.withUnsafeBytes { digest in try contexts.sign(digest: digest, into: out) }
        }
        token.append(UInt8(ascii: "."))
        token += Base64URL.encode(Array(signature.prefix(length))).utf8
        return String(decoding: token, as: UTF8.self)
    }
}
