import CJWT
import Foundation

/// What an operator learns about one access token (`portier tokens inspect`): which key signed it,
/// whether the signature verifies against the token server's keys, and when it expires or why it
/// is refused.
///
/// The signature and the claims are read by libjwt (`jwt_decode`), independently of the EVP
/// verifier the gateway uses, so the two implementations check each other. libjwt's traps are kept
/// out the same way as everywhere: the header's alg must be RS256 before libjwt sees the token, and
/// it is only ever given a real public key, never NULL.
public struct TokenInspection: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        case valid
        case refused(String)
    }

    /// The header's `alg` and `kid`, when the header could be read.
    public var algorithm: String?
    public var kid: String?
    /// The claims as libjwt decoded them (after the signature verified), or as read without
    /// verification when it did not, so an operator can still see whose token it was.
    public var claims: TokenClaims?
    /// Whether the signature verified with a key of the given set.
    public var signatureVerified: Bool
    public var verdict: Verdict

    /// Inspects a compact JWS against `keys` (the token server's JWKS) at `now` (seconds since 1970).
    public static func inspect(
        _ token: String, keys: VerificationKeys, issuer: String? = nil, audience: String? = nil, leewaySeconds: Int64 = 0,
        now: Int64 = TokenVerifier.now()
    ) -> TokenInspection {
        var result = TokenInspection(algorithm: nil, kid: nil, claims: nil, signatureVerified: false, verdict: .valid)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]),
            let header = (try? JSONSerialization.jsonObject(with: Data(headerBytes))) as? [String: Any]
        else {
            result.verdict = .refused("not a JWT: expected three base64url parts with a JSON header")
            return result
        }
        result.algorithm = header["alg"] as? String
        result.kid = header["kid"] as? String
        result.claims = Base64URL.decode(parts[1]).flatMap { try? JSONDecoder().decode(TokenClaims.self, from: Data($0)) }

        guard result.algorithm == "RS256" else {
            result.verdict = .refused("alg \(result.algorithm ?? "(none)") is not accepted: Portier signs and accepts RS256 only")
            return result
        }
        guard let kid = result.kid else {
            result.verdict = .refused("the header names no kid, so no key can be chosen")
            return result
        }
        guard let key = keys[kid] else {
            result.verdict = .refused("key \(kid) is not among the token server's keys: pruned after a rotation, or not issued here")
            return result
        }
        guard let verified = libjwtClaims(token, key: key) else {
            result.verdict = .refused("the signature does not verify with key \(kid) (libjwt)")
            return result
        }
        result.signatureVerified = true
        result.claims = verified
        result.verdict = judge(verified, issuer: issuer, audience: audience, leewaySeconds: leewaySeconds, now: now)
        return result
    }

    /// The claims of a token whose RS256 signature libjwt verified with `key`; nil if it did not.
    static func libjwtClaims(_ token: String, key: RSAKey) -> TokenClaims? {
        guard let pem = try? Array(key.publicKeyPEM().utf8) else { return nil }
        var jwt: OpaquePointer?
        let status = pem.withUnsafeBufferPointer { jwt_decode(&jwt, token, $0.baseAddress, Int32($0.count)) }
        defer { jwt_free(jwt) }
        guard status == 0, let jwt, jwt_get_alg(jwt) == JWT_ALG_RS256, let json = jwt_get_grants_json(jwt, nil) else { return nil }
        defer { portier_jwt_free_string(json) }
        return try? JSONDecoder().decode(TokenClaims.self, from: Data(String(cString: json).utf8))
    }

    /// The checks the gateway makes of a token's claims, worded for a person.
    static func judge(_ claims: TokenClaims, issuer: String?, audience: String?, leewaySeconds: Int64, now: Int64) -> Verdict {
        guard let exp = claims.exp else { return .refused("the token has no exp") }
        if now > plus(exp, leewaySeconds) {
            return .refused("expired at \(Self.timestamp(exp)) (\(Self.relative(exp, now: now)))")
        }
        if let nbf = claims.nbf, plus(nbf, 0 &- leewaySeconds) > now {
            return .refused("not valid before \(Self.timestamp(nbf)) (\(Self.relative(nbf, now: now)))")
        }
        if let issuer, claims.iss != issuer { return .refused("issued by \(claims.iss ?? "(no iss)"), not \(issuer)") }
        if let audience, !claims.aud.contains(audience) { return .refused("meant for \(claims.aud.joined(separator: " ")), not \(audience)") }
        guard claims.sub != nil || claims.clientID != nil else { return .refused("the token names no client (no sub, no client_id)") }
        return .valid
    }

    /// `a + b`, saturating instead of trapping: claims are numbers an attacker chose.
    static func plus(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }

    /// "in 17 min" or "3 h ago", relative to `now`.
    public static func relative(_ instant: Int64, now: Int64) -> String {
        instant >= now ? "in \(span(plus(instant, 0 &- now)))" : "\(span(plus(now, 0 &- instant))) ago"
    }

    /// An instant as ISO 8601 in UTC; a value outside years 1970-9999 (a hostile token) as the number.
    public static func timestamp(_ seconds: Int64) -> String {
        guard (0...253_402_300_799).contains(seconds) else { return "\(seconds) (seconds since 1970)" }
        return Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601)
    }

    /// A duration in the largest whole unit that fits: "42 s", "17 min", "3 h", "2 d".
    public static func span(_ seconds: Int64) -> String {
        let seconds = seconds.magnitude
        switch seconds {
        case ..<120: return "\(seconds) s"
        case ..<7_200: return "\(seconds / 60) min"
        case ..<172_800: return "\(seconds / 3_600) h"
        default: return "\(seconds / 86_400) d"
        }
    }
}
