import COpenSSL
import Synchronization

/// Ready-made RS256 signing contexts for one private key, reused across tokens.
///
/// Under OpenSSL 3, setting up a signature operation (fetching the algorithm from the provider
/// store, taking its locks) costs about as much as the RSA operation itself. A context is set up
/// once and then signs any number of digests, but it may serve one thread at a time: a signer
/// takes one from the pool, signs, and puts it back. The pool grows to the number of threads that
/// sign at once (the event loops), never more.
final class SigningContextPool: @unchecked Sendable {
    /// Keeps the EVP_PKEY alive as long as its contexts.
    private let key: RSAKey
    private let idle = Mutex<[Context]>([])

    /// An EVP_PKEY_CTX, used by one thread at a time: whoever takes it from `idle` owns it until it is put back.
    private struct Context: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    init(key: RSAKey) throws(KeyError) {
        guard key.isPrivate else { throw KeyError("cannot sign with a public key") }
        self.key = key
        // One context up front, so a key OpenSSL cannot sign with fails at load, not at the first token.
        put(try makeContext())
    }

    deinit {
        for context in idle.withLock({ $0 }) { EVP_PKEY_CTX_free(context.pointer) }
    }

    /// Signs a SHA-256 digest (PKCS#1 v1.5).
    func sign(digest: UnsafeRawBufferPointer, into signature: UnsafeMutableBufferPointer<UInt8>) throws(KeyError) -> Int {
        let context: Context
        if let reused = idle.withLock({ $0.popLast() }) { context = reused } else { context = try makeContext() }
        defer { put(context) }
        var length = signature.count
        let ok = portier_rs256_sign_with(
            context.pointer, digest.baseAddress?.assumingMemoryBound(to: UInt8.self), digest.count, signature.baseAddress, &length
        )
        guard ok == 1, length <= signature.count else { throw KeyError("RS256 signing failed") }
        return length
    }

    /// The signature size of the key in bytes.
    var signatureSize: Int { Int(EVP_PKEY_get_size(key.pkey)) }

    private func makeContext() throws(KeyError) -> Context {
        guard let context = portier_rs256_sign_context(key.pkey, Crypto.sha256Algorithm) else {
            throw KeyError("OpenSSL cannot set up RS256 signing with this key: \(RSAKey.opensslError())")
        }
        return Context(pointer: context)
    }

    private func put(_ context: Context) {
        idle.withLock { $0.append(context) }
    }
}
