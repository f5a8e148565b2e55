import COpenSSL

/// Errors from parsing, generating or exporting RSA keys.
public struct KeyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An RSA key parsed once by OpenSSL (EVP_PKEY), public or private.
///
/// Parsing a PEM costs far more than an RS256 verification, so keys are parsed once and shared;
/// OpenSSL allows concurrent read-only use of an EVP_PKEY.
public final class RSAKey: @unchecked Sendable {
    /// The parsed key (EVP_PKEY *); never mutated after init.
    let pkey: OpaquePointer
    /// Whether the private half is present.
    public let isPrivate: Bool
    /// Big-endian modulus (JWK `n`).
    public let modulus: [UInt8]
    /// Big-endian public exponent (JWK `e`).
    public let exponent: [UInt8]
    /// RFC 7638 JWK thumbprint (SHA-256, base64url), used as `kid`.
    public let thumbprint: String

    /// The smallest modulus Portier accepts, in bits.
    public static let minimumBits = 2048

    init(taking pkey: OpaquePointer, isPrivate: Bool) throws(KeyError) {
        guard EVP_PKEY_is_a(pkey, "RSA") == 1 else {
            EVP_PKEY_free(pkey)
            throw KeyError("key is not an RSA key")
        }
        let bits = Int(EVP_PKEY_get_bits(pkey))
        guard bits >= Self.minimumBits else {
            EVP_PKEY_free(pkey)
            throw KeyError("RSA key has \(bits) bits; at least \(Self.minimumBits) are required")
        }
        guard let n = Self.bigNumber(pkey, OSSL_PKEY_PARAM_RSA_N), let e = Self.bigNumber(pkey, OSSL_PKEY_PARAM_RSA_E) else {
            EVP_PKEY_free(pkey)
            throw KeyError("cannot read the RSA key's modulus and exponent")
        }
        self.pkey = pkey
        self.isPrivate = isPrivate
        self.modulus = n
        self.exponent = e
        self.thumbprint = Self.thumbprint(n: Base64URL.encode(n), e: Base64URL.encode(e))
    }

    deinit {
        EVP_PKEY_free(pkey)
    }

    /// Generates a new RSA key pair.
    public static func generate(bits: Int = 2048) throws(KeyError) -> RSAKey {
        guard let pkey = portier_rsa_generate(UInt32(bits)) else {
            throw KeyError("OpenSSL could not generate an RSA-\(bits) key: \(opensslError())")
        }
        return try RSAKey(taking: pkey, isPrivate: true)
    }

    /// Parses a PEM: a private key (PKCS#8 or PKCS#1) or a public key (SubjectPublicKeyInfo).
    public convenience init(pem: String) throws(KeyError) {
        let bytes = Array(pem.utf8)
        let isPrivate = pem.contains("PRIVATE KEY-----")
        let parsed: OpaquePointer? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return isPrivate ? PEM_read_bio_PrivateKey(bio, nil, nil, nil) : PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let parsed else {
            throw KeyError("cannot parse PEM \(isPrivate ? "private" : "public") key: \(Self.opensslError())")
        }
        try self.init(taking: parsed, isPrivate: isPrivate)
    }

    /// Builds a public key from its modulus and exponent (a JWK's `n` and `e`).
    public convenience init(modulus: [UInt8], exponent: [UInt8]) throws(KeyError) {
        guard !modulus.isEmpty, !exponent.isEmpty else { throw KeyError("RSA modulus and exponent must not be empty") }
        // OpenSSL builds a key from any numbers; e = 0 or 1 (anyone can "sign" for e = 1), an even e or
        // an even n is no RSA key. Found by FuzzTokens (Fuzz/corpus/Tokens/jwks-exponent-zero).
        let e = exponent.drop { $0 == 0 }
        guard let low = e.last, low & 1 == 1, e.count > 1 || low >= 3, let nLow = modulus.last, nLow & 1 == 1 else {
            throw KeyError("RSA exponent must be odd and at least 3, and the modulus odd")
        }
        let pkey = modulus.withUnsafeBufferPointer { n in
            exponent.withUnsafeBufferPointer { e in
                portier_rsa_public_from_components(n.baseAddress, Int32(n.count), e.baseAddress, Int32(e.count))
            }
        }
        guard let pkey else { throw KeyError("invalid RSA modulus or exponent: \(Self.opensslError())") }
        try self.init(taking: pkey, isPrivate: false)
    }

    /// The private key as PKCS#8 PEM.
    public func privateKeyPEM() throws(KeyError) -> String {
        guard isPrivate else { throw KeyError("this is a public key") }
        return try Self.writePEM { PEM_write_bio_PrivateKey($0, pkey, nil, nil, 0, nil, nil) }
    }

    /// The private key as PKCS#1 PEM ("BEGIN RSA PRIVATE KEY"), the form libjwt signs with (the
    /// micro-benchmark compares it with ``TokenSigner``).
    public func traditionalPrivateKeyPEM() throws(KeyError) -> String {
        guard isPrivate else { throw KeyError("this is a public key") }
        return try Self.writePEM { PEM_write_bio_PrivateKey_traditional($0, pkey, nil, nil, 0, nil, nil) }
    }

    /// The public key as SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY").
    public func publicKeyPEM() throws(KeyError) -> String {
        try Self.writePEM { PEM_write_bio_PUBKEY($0, pkey) }
    }

    /// Checks an RS256 (PKCS#1 v1.5, SHA-256) signature over a SHA-256 digest.
    public func verify(signature: [UInt8], digest: [UInt8]) -> Bool {
        signature.withUnsafeBufferPointer { sig in
            digest.withUnsafeBufferPointer { digest in
                portier_rs256_verify_digest(pkey, Crypto.sha256Algorithm, digest.baseAddress, digest.count, sig.baseAddress, sig.count) == 1
            }
        }
    }

    /// Signs a SHA-256 digest with RS256, setting the operation up for this one call. Tests and tools
    /// use this; the token server signs through ``TokenSigner``, which sets it up once per thread.
    public func sign(digest: [UInt8]) throws(KeyError) -> [UInt8] {
        guard isPrivate else { throw KeyError("cannot sign with a public key") }
        var signature = [UInt8](repeating: 0, count: Int(EVP_PKEY_get_size(pkey)))
        var length = signature.count
        let ok = signature.withUnsafeMutableBufferPointer { sig in
            digest.withUnsafeBufferPointer { digest in
                portier_rs256_sign_digest(pkey, Crypto.sha256Algorithm, digest.baseAddress, digest.count, sig.baseAddress, &length)
            }
        }
        guard ok == 1 else { throw KeyError("RS256 signing failed: \(Self.opensslError())") }
        return Array(signature.prefix(length))
    }

    /// RFC 7638: SHA-256 over the required members in lexicographic order, without whitespace.
    static func thumbprint(n: String, e: String) -> String {
        Base64URL.encode(Crypto.sha256("{\"e\":\"\(e)\",\"kty\":\"RSA\",\"n\":\"\(n)\"}"))
    }

    private static func bigNumber(_ pkey: OpaquePointer, _ name: String) -> [UInt8]? {
        var length: Int32 = 0
        guard let pointer = portier_pkey_bn_param(pkey, name, &length) else { return nil }
        defer { portier_free(pointer) }
        return Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
    }

    private static func writePEM(_ write: (OpaquePointer) -> Int32) throws(KeyError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw KeyError("cannot allocate an OpenSSL BIO") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw KeyError("cannot write PEM: \(opensslError())") }
        var data: UnsafeMutablePointer<CChar>?
        let length = portier_bio_mem_data(bio, &data)
        guard let data, length > 0 else { throw KeyError("OpenSSL wrote an empty PEM") }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    static func opensslError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown OpenSSL error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
