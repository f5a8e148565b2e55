import CJWT
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Signs access tokens as RS256 JWTs with libjwt, adding the key's `kid` to the header.
///
/// libjwt parses the PEM on every call; that bounds signing at roughly a thousand tokens per
/// second per core, which is fine for a token endpoint. Verification never goes through libjwt.
public struct TokenSigner: Sendable {
    /// The `kid` written into every token header.
    public let kid: String
    private let privateKeyPEM: [UInt8]

    public init(key: RSAKey) throws(KeyError) {
        self.kid = key.thumbprint
        self.privateKeyPEM = Array(try key.traditionalPrivateKeyPEM().utf8)
    }

    /// Returns the compact JWS of the claims.
    public func sign(_ claims: TokenClaims) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(claims), as: UTF8.self)

        var jwt: OpaquePointer?
        guard jwt_new(&jwt) == 0, let jwt else { throw KeyError("libjwt could not allocate a token") }
        defer { jwt_free(jwt) }
        let keyResult = privateKeyPEM.withUnsafeBufferPointer { jwt_set_alg(jwt, JWT_ALG_RS256, $0.baseAddress, Int32($0.count)) }
        guard keyResult == 0 else { throw KeyError("libjwt rejected the signing key (error \(keyResult))") }
        guard jwt_add_header(jwt, "kid", kid) == 0 else { throw KeyError("libjwt could not set the kid header") }
        guard jwt_add_grants_json(jwt, json) == 0 else { throw KeyError("libjwt could not add the claims") }
        guard let encoded = jwt_encode_str(jwt) else { throw KeyError("libjwt could not sign the token") }
        defer { portier_jwt_free_string(encoded) }
        return String(cString: encoded)
    }
}
