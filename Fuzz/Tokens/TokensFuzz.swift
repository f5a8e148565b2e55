import Foundation
import FuzzSupport
import Tokens

/// The JWT compact parser and RS256 verifier, run to the end: the first input byte picks what
/// the rest is. 0: a whole token. 1: the claims JSON, 2: the header JSON, each signed here with
/// the fixed test key so the verifier gets past the signature. 3: a JWKS document, as the gateway
/// fetches it. 4: any text, for the unverified kid lookup. Every input is also base64url text.
/// A token that verifies must satisfy every claim check; one with a changed signature must not.
enum TokensFuzz {
    static let key: RSAKey = {
        do {
            return try RSAKey(pem: FuzzKey.pem)
        } catch {
            fatalError("the fuzz key does not parse: \(error)")
        }
    }()
    static let keys = VerificationKeys([key.thumbprint: key])
    static let verifier = TokenVerifier(configuration: .init(issuer: "https://auth.test", audience: "hotel-api", leewaySeconds: 60))
    /// A fixed clock (2027-01-15), so a crash input reproduces on any day.
    static let now: Int64 = 1_800_000_000
    static let goodClaims = #"{"iss":"https://auth.test","sub":"c","aud":"hotel-api","client_id":"c","scope":"read","exp":1800000300}"#

    static func run(_ bytes: [UInt8]) {
        guard let mode = bytes.first else { return }
        let body = Array(bytes.dropFirst())
        checkBase64URL(body)
        switch mode % 5 {
        case 0:
            checkToken(String(decoding: body, as: UTF8.self))
        case 1:
            let header = #"{"alg":"RS256","kid":"\#(key.thumbprint)","typ":"JWT"}"#
            checkToken(sign(header: Array(header.utf8), payload: body))
        case 2:
            checkToken(sign(header: body, payload: Array(goodClaims.utf8)))
        case 3:
            checkJWKS(Data(body))
        default:
            let text = String(decoding: body, as: UTF8.self)
            _ = TokenVerifier.unverifiedKeyID(of: text)
            checkClaimsJSON(text)
        }
    }

    /// A fixed token signed by the fuzz key: only the fuzz key may verify it.
    static let signedByFuzzKey = sign(header: Array(#"{"alg":"RS256","kid":"k","typ":"JWT"}"#.utf8), payload: Array(goodClaims.utf8))

    /// Keys read from a JWKS are public RSA keys of at least 2048 bits that print back to
    /// themselves, and none but the fuzz key verifies the fuzz key's signature.
    static func checkJWKS(_ data: Data) {
        guard let jwks = try? JSONDecoder().decode(JWKSet.self, from: data) else { return }
        let loaded = VerificationKeys(jwks: jwks)
        for (kid, key) in loaded.byID {
            Fuzz.check(!key.isPrivate, "JWKS key \(kid) is private")
            let exponent = key.exponent.drop { $0 == 0 }
            Fuzz.check(exponent.count > 1 || (exponent.last ?? 0) >= 3, "JWKS key \(kid) has exponent \(key.exponent)")
            Fuzz.check((exponent.last ?? 0) & 1 == 1 && (key.modulus.last ?? 0) & 1 == 1, "JWKS key \(kid) has an even exponent or modulus")
            Fuzz.check(key.modulus.count * 8 >= RSAKey.minimumBits - 7, "JWKS key \(kid) has a \(key.modulus.count)-byte modulus")
            Fuzz.check((try? RSAKey(jwk: key.jwk))?.thumbprint == key.thumbprint, "JWKS key \(kid) does not print back")
            let verifies = (try? verifier.verify(signedByFuzzKey, keys: VerificationKeys(["k": key]), now: now)) != nil
            Fuzz.check(verifies == (key.thumbprint == Self.key.thumbprint), "JWKS key \(kid) verifies the fuzz key's signature")
        }
    }

    static func sign(header: [UInt8], payload: [UInt8]) -> String {
        let input = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        do {
            return input + "." + Base64URL.encode(try key.sign(digest: Crypto.sha256(Array(input.utf8))))
        } catch {
            fatalError("the fuzz key cannot sign: \(error)")
        }
    }

    static func checkToken(_ token: String) {
        _ = TokenVerifier.unverifiedKeyID(of: token)
        let verified: VerifiedToken
        do {
            verified = try verifier.verify(token, keys: keys, now: now)
        } catch {
            Fuzz.check(!error.description.isEmpty, "a refused token must say why")
            return
        }
        let claims = verified.claims
        Fuzz.check(verified.kid == key.thumbprint, "verified with kid \(verified.kid)")
        Fuzz.check(TokenVerifier.unverifiedKeyID(of: token) == verified.kid, "unverifiedKeyID disagrees with the verifier")
        guard let exp = claims.exp else { return Fuzz.check(false, "a token without exp verified") }
        Fuzz.check(Int128(now) <= Int128(exp) + 60, "an expired token (exp \(exp)) verified")
        if let nbf = claims.nbf { Fuzz.check(Int128(now) + 60 >= Int128(nbf), "a not-yet-valid token (nbf \(nbf)) verified") }
        Fuzz.check(claims.iss == "https://auth.test", "issuer \(claims.iss ?? "nil") verified")
        Fuzz.check(claims.aud.contains("hotel-api"), "audience \(claims.aud) verified")
        do {
            try verifier.check(claims, now: now)
        } catch {
            Fuzz.check(false, "a verified token fails the cached-token check: \(error)")
        }
        if let encoded = try? JSONEncoder().encode(claims) {
            Fuzz.check((try? JSONDecoder().decode(TokenClaims.self, from: encoded)) == claims, "claims do not survive a round trip")
        }

        // The same token with another signature must not verify.
        guard let dot = token.utf8.lastIndex(of: UInt8(ascii: ".")) else { return }
        let signature = Base64URL.decode(token[token.index(after: dot)...]) ?? []
        guard !signature.isEmpty else { return }
        var forged = signature
        forged[forged.count / 2] ^= 0x01
        let tampered = String(token[...dot]) + Base64URL.encode(forged)
        Fuzz.check((try? verifier.verify(tampered, keys: keys, now: now)) == nil, "a token with a changed signature verified")
    }

    /// The signer's hand-written claims JSON reads back, with Foundation's decoder, as exactly the
    /// claims that went in, whatever the strings hold (quotes, backslashes, control characters).
    static func checkClaimsJSON(_ text: String) {
        let parts = text.split(separator: "\u{1}", omittingEmptySubsequences: false).map(String.init)
        func part(_ index: Int) -> String { index < parts.count ? parts[index] : text }
        let claims = TokenClaims(
            iss: part(0), sub: part(1), aud: parts.count > 2 ? Array(parts.prefix(3)) : [text], clientID: part(2), scope: part(3),
            iat: Int64(text.utf8.count), nbf: -1, exp: Int64.max, jti: part(4), authorities: parts.count > 1 ? parts : nil
        )
        let decoded = try? JSONDecoder().decode(TokenClaims.self, from: Data(claims.jsonBytes()))
        Fuzz.check(decoded == claims, "the claims JSON of \(claims) reads back as \(String(describing: decoded))")
    }

    /// Strict base64url: text that decodes is the one canonical spelling of its bytes.
    static func checkBase64URL(_ bytes: [UInt8]) {
        if let decoded = Base64URL.decode(bytes) {
            Fuzz.check(Base64URL.encode(decoded) == String(decoding: bytes, as: UTF8.self), "two spellings of the same bytes decode")
        }
        Fuzz.check(Base64URL.decode(Base64URL.encode(bytes)) == bytes, "encode/decode of \(bytes) differs")
    }
}

@main enum Main {
    static func main() { Fuzz.main(TokensFuzz.run, entry: fuzzTokens) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokens(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    TokensFuzz.run(Fuzz.bytes(data, size))
    return 0
}
