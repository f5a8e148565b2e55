import Foundation

/// A signing key read from the keys directory.
public struct StoredKey: Sendable {
    public let key: RSAKey
    /// When the key was generated (it starts signing at that moment).
    public let created: Date
    /// Path of the private key file.
    public let path: String

    public var kid: String { key.thumbprint }
}

/// The keys the token server holds: the newest signs, all of them verify and are published.
public struct KeyRing: Sendable {
    /// Oldest first.
    public let keys: [StoredKey]

    public init(keys: [StoredKey]) {
        self.keys = keys.sorted { ($0.created, $0.path) < ($1.created, $1.path) }
    }

    /// The key new tokens are signed with.
    public var signing: StoredKey? { keys.last }

    /// Every key by kid, for verification.
    public var verificationKeys: VerificationKeys {
        VerificationKeys(Dictionary(keys.map { ($0.kid, $0.key) }, uniquingKeysWith: { first, _ in first }))
    }

    /// The public JWKS, newest key first (the order clients should try).
    public var jwks: JWKSet {
        JWKSet(keys: keys.reversed().map(\.key.jwk))
    }
}

/// The keys directory: one PKCS#8 PEM per key (mode 0600) named `rsa-<created ms>-<kid>.pem`, and
/// its public half beside it as `.pub.pem` for tools such as HAProxy's `jwt_verify`.
public struct KeyStore: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Reads every private key in the directory. A file that is not a valid key is an error naming the file.
    public func load() throws -> KeyRing {
        var keys: [StoredKey] = []
        for name in try privateKeyFileNames() {
            let path = directory + "/" + name
            guard let created = Self.creationDate(fromFileName: name) else { continue }
            let pem: String
            do {
                pem = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw KeyError("cannot read key file \(path): \(error.localizedDescription)")
            }
            do {
                keys.append(StoredKey(key: try RSAKey(pem: pem), created: created, path: path))
            } catch {
                throw KeyError("key file \(path) is not a usable RSA private key: \(error)")
            }
        }
        return KeyRing(keys: keys)
    }

    /// Loads the ring, generating a first key when the directory holds none.
    public func loadOrCreate() throws -> (ring: KeyRing, generated: StoredKey?) {
        let ring = try load()
        if !ring.keys.isEmpty { return (ring, nil) }
        let key = try rotate()
        return (try load(), key)
    }

    /// Generates a new RSA 2048 key (or stores `key`) that becomes the signing key; older keys keep
    /// verifying.
    @discardableResult
    public func rotate(now: Date = Date(), key given: RSAKey? = nil) throws -> StoredKey {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
        )
        let key = try given ?? RSAKey.generate(bits: 2048)
        // Never let two keys share a creation time, or "newest" would be ambiguous.
        let newest = try load().signing?.created ?? .distantPast
        let created = max(now, newest.addingTimeInterval(0.001))
        let stem = "rsa-\(Self.millisecondString(created))-\(key.thumbprint)"
        let path = directory + "/" + stem + ".pem"
        try AtomicFile.write(Array(try key.publicKeyPEM().utf8), to: directory + "/" + stem + ".pub.pem", mode: 0o644)
        try AtomicFile.write(Array(try key.privateKeyPEM().utf8), to: path, mode: 0o600)
        return StoredKey(key: key, created: created, path: path)
    }

    /// Deletes keys that stopped signing before `date` (and so signed nothing still valid). The signing key stays.
    public func prune(retiredBefore date: Date) throws -> [StoredKey] {
        let keys = try load().keys
        var removed: [StoredKey] = []
        for (index, key) in keys.enumerated() where index < keys.count - 1 {
            let retired = keys[index + 1].created
            if retired < date {
                try FileManager.default.removeItem(atPath: key.path)
                try? FileManager.default.removeItem(atPath: key.path.replacingOccurrences(of: ".pem", with: ".pub.pem"))
                removed.append(key)
            }
        }
        return removed
    }

    /// Names of the private key files; cheap enough to poll for changes made by `portier keys rotate`.
    public func privateKeyFileNames() throws -> [String] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasPrefix("rsa-") && $0.hasSuffix(".pem") && !$0.hasSuffix(".pub.pem") }
            .sorted()
    }

    static func creationDate(fromFileName name: String) -> Date? {
        let digits = name.dropFirst(4).prefix { $0.isNumber }
        guard digits.count >= 13, let millis = Int64(digits) else { return nil }
        return Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    static func millisecondString(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let text = String(millis)
        return String(repeating: "0", count: max(0, 13 - text.count)) + text
    }
}
