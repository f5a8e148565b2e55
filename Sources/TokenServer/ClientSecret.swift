import Tokens

/// Client secrets: generated with 256 bits of entropy, stored as salted PBKDF2-HMAC-SHA-256.
///
/// The slow hash protects human-chosen secrets (`--secret`) if the SQLite file leaks. Its cost is
/// paid once per client and secret: ``ClientSecretVerifier`` remembers successful checks.
public enum ClientSecret {
    /// OWASP's floor for PBKDF2-SHA-256 is higher for passwords; client secrets are mostly random.
    public static let iterations = 100_000

    /// A new random secret (43 base64url characters).
    public static func generate() -> String {
        Crypto.randomToken(bytes: 32)
    }

    /// The storable hash of a secret.
    public static func hash(_ secret: String, iterations: Int = ClientSecret.iterations) -> String {
        let salt = Crypto.randomBytes(16)
        let derived = Crypto.pbkdf2SHA256(password: Array(secret.utf8), salt: salt, iterations: iterations)
        return "pbkdf2-sha256$\(iterations)$\(Base64URL.encode(salt))$\(Base64URL.encode(derived))"
    }

    /// Recomputes the hash and compares in constant time.
    public static func verify(_ secret: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$")
        // The stored hash comes from a file: bounds keep a damaged row from trapping (Int32) or hanging the server.
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let iterations = Int(parts[1]), (1...10_000_000).contains(iterations),
            let salt = Base64URL.decode(parts[2]), salt.count <= 1024, let expected = Base64URL.decode(parts[3]), (16...64).contains(expected.count)
        else { return false }
        let derived = Crypto.pbkdf2SHA256(password: Array(secret.utf8), salt: salt, iterations: iterations, length: expected.count)
        return Crypto.constantTimeEquals(derived, expected)
    }

    /// Rules for a secret given on the command line.
    public static func validate(_ secret: String) throws(ClientStoreError) {
        guard secret.utf8.count >= 16 else { throw .invalid("a client secret must have at least 16 characters") }
        guard secret.utf8.count <= 256 else { throw .invalid("a client secret must have at most 256 characters") }
    }
}
