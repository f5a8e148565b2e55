import COpenSSL
import Synchronization

/// The few OpenSSL primitives the rest of Portier needs, with Swift-friendly signatures.
public enum Crypto {
    /// SHA-256 fetched once. OpenSSL 3 resolves `EVP_sha256()` through its provider store, taking
    /// locks, on every use; an explicitly fetched EVP_MD skips that. It is immutable and shareable.
    nonisolated(unsafe) static let sha256Algorithm: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("OpenSSL has no SHA-256") }
        return md
    }()

    /// Cryptographically secure random bytes from OpenSSL's DRBG.
    ///
    /// Small requests (token ids, one per token) are served from a 4 KiB block drawn from the DRBG
    /// at once and handed out once each: every RAND_bytes call takes the DRBG's lock and asks the
    /// kernel for the pid, which cost more than the bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        guard count > 0, count <= 64 else { return drawRandom(max(0, count)) }
        return randomBlock.withLock { block in
            if block.bytes.count - block.used < count {
                block.bytes = drawRandom(4096)
                block.used = 0
            }
            let start = block.used
            block.used += count
            defer {
                // What was handed out does not stay in memory.
                for index in start..<block.used { block.bytes[index] = 0 }
            }
            return Array(block.bytes[start..<block.used])
        }
    }

    private static let randomBlock = Mutex<(bytes: [UInt8], used: Int)>(([], 0))

    private static func drawRandom(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "OpenSSL RAND_bytes failed; refusing to continue without secure randomness")
        return bytes
    }

    /// A random base64url string carrying `bytes` bytes of entropy (secrets, token ids).
    public static func randomToken(bytes: Int = 32) -> String {
        Base64URL.encode(randomBytes(bytes))
    }

    /// SHA-256 of the given bytes.
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { sha256(buffer: $0) }
    }

    /// SHA-256 of bytes in place, without copying them into an array first.
    public static func sha256(buffer input: UnsafeRawBufferPointer) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBufferPointer { out in
            _ = EVP_Digest(input.baseAddress, input.count, out.baseAddress, nil, sha256Algorithm, nil)
        }
        return digest
    }

    /// SHA-256 of a string's UTF-8 bytes.
    public static func sha256(_ string: String) -> [UInt8] {
        sha256(Array(string.utf8))
    }

    /// HMAC-SHA-256; used by tests to build algorithm-confusion tokens.
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        key.withUnsafeBufferPointer { key in
            data.withUnsafeBufferPointer { data in
                out.withUnsafeMutableBufferPointer { out in
                    _ = HMAC(sha256Algorithm, key.baseAddress, Int32(key.count), data.baseAddress, data.count, out.baseAddress, &length)
                }
            }
        }
        return out
    }

    /// PBKDF2-HMAC-SHA-256, used to store client secrets as slow salted hashes.
    public static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int, length: Int = 32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        password.withUnsafeBufferPointer { password in
            password.withMemoryRebound(to: CChar.self) { password in
                salt.withUnsafeBufferPointer { salt in
                    out.withUnsafeMutableBufferPointer { out in
                        _ = PKCS5_PBKDF2_HMAC(
                            password.baseAddress, Int32(password.count), salt.baseAddress, Int32(salt.count),
                            Int32(iterations), sha256Algorithm, Int32(length), out.baseAddress
                        )
                    }
                }
            }
        }
        return out
    }

    /// Compares two byte strings in time that depends only on their length.
    public static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.isEmpty { return true }
        return lhs.withUnsafeBytes { l in
            rhs.withUnsafeBytes { r in CRYPTO_memcmp(l.baseAddress, r.baseAddress, l.count) == 0 }
        }
    }
}
