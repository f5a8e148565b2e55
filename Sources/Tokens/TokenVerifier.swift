#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A token that passed every check, with its claims.
public struct VerifiedToken: Sendable {
    public let kid: String
    public let claims: TokenClaims
}

/// Verifies RS256 access tokens with OpenSSL EVP and keys parsed once per kid.
///
/// It reads the header itself and accepts only `alg: RS256` with a known `kid`, so neither
/// `alg: none` nor an HS256 token MACed with the public key (libjwt's traps) can pass. After the
/// signature it checks exp and nbf with a leeway, then iss and aud.
public struct TokenVerifier: Sendable {
    /// What a token must satisfy besides a good signature.
    public struct Configuration: Sendable, Equatable {
        /// Required `iss`; nil accepts any issuer.
        public var issuer: String?
        /// Required member of `aud`; nil accepts any audience.
        public var audience: String?
        /// Clock skew tolerated for exp and nbf, in seconds.
        public var leewaySeconds: Int64
        /// Longer tokens are refused before any parsing.
        public var maxTokenLength: Int

        public init(issuer: String?, audience: String?, leewaySeconds: Int64 = 60, maxTokenLength: Int = 8192) {
            self.issuer = issuer
            self.audience = audience
            self.leewaySeconds = leewaySeconds
            self.maxTokenLength = maxTokenLength
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The current time in whole seconds since 1970, the unit of JWT dates.
    public static func now() -> Int64 {
        Int64(Date().timeIntervalSince1970)
    }

    /// Reads only the header's `kid` (no verification), so a caller can fetch a missing key first.
    public static func unverifiedKeyID(of token: String) -> String? {
        guard let dot = token.utf8.firstIndex(of: UInt8(ascii: ".")),
            let bytes = Base64URL.decode(token.utf8[..<dot]),
            let header = try? JSONDecoder().decode(Header.self, from: Data(bytes))
        else { return nil }
        return header.kid
    }

    /// Checks the token and returns its claims, or the first reason to refuse it.
    public func verify(_ token: String, keys: VerificationKeys, now: Int64 = TokenVerifier.now()) throws(TokenError) -> VerifiedToken {
        let utf8 = token.utf8
        guard utf8.count <= configuration.maxTokenLength else { throw .tooLarge(limit: configuration.maxTokenLength) }
        let parts = utf8.split(separator: UInt8(ascii: "."), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected three dot-separated segments") }
        guard !parts[0].isEmpty, !parts[1].isEmpty else { throw .malformed("empty header or payload") }

        guard let headerBytes = Base64URL.decode(parts[0]) else { throw .malformed("header is not base64url") }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)) else {
            throw .malformed("header is not a JSON object")
        }
        guard header.alg == "RS256" else { throw .unsupportedAlgorithm(header.alg ?? "(missing)") }
        guard header.crit == nil else { throw .malformed("critical header extensions are not supported") }
        guard let kid = header.kid, !kid.isEmpty else { throw .missingKeyID }
        guard let key = keys[kid] else { throw .unknownKeyID(kid) }

        guard let signature = Base64URL.decode(parts[2]), !signature.isEmpty else { throw .malformed("signature is not base64url") }
        let signingInput = Substring(utf8[utf8.startIndex..<parts[1].endIndex])
        let digest =
            signingInput.utf8.withContiguousStorageIfAvailable { Crypto.sha256(buffer: UnsafeRawBufferPointer($0)) }
            ?? Crypto.sha256(Array(signingInput.utf8))
        guard key.verify(signature: signature, digest: digest) else { throw .invalidSignature }

        guard let payloadBytes = Base64URL.decode(parts[1]) else { throw .malformed("payload is not base64url") }
        let claims: TokenClaims
        do {
            claims = try JSONDecoder().decode(TokenClaims.self, from: Data(payloadBytes))
        } catch {
            throw .malformed("payload is not a JSON object with valid claims")
        }
        try check(claims, now: now)
        return VerifiedToken(kid: kid, claims: claims)
    }

    /// The time and audience checks, separate so cached tokens can be re-checked cheaply.
    public func check(_ claims: TokenClaims, now: Int64) throws(TokenError) {
        let leeway = configuration.leewaySeconds
        guard let exp = claims.exp else { throw .missingClaim("exp") }
        // exp comes from the token (Int64.max is valid JSON); `exp + leeway` would trap, `now - leeway` cannot.
        guard now - leeway <= exp else { throw .expired(at: exp) }
        if let nbf = claims.nbf, now + leeway < nbf { throw .notYetValid(until: nbf) }
        if let issuer = configuration.issuer, claims.iss != issuer { throw .invalidIssuer(claims.iss) }
        if let audience = configuration.audience, !claims.aud.contains(audience) { throw .invalidAudience(expected: audience) }
    }

    struct Header: Decodable {
        var alg: String?
        var kid: String?
        var typ: String?
        var crit: [String]?
    }
}
