import COpenSSL
import Synchronization

/// Ready-made RS256 signing contexts for one private key, reused across tokens.
///
/// Under OpenSSL 3, setting up a signature operation (fetching the algorithm from the provider
/// store, taking its locks) costs about as much as the RSA operation itself. A context is set up
/// once and then signs any number of digests, but it may serve one thread at a time: a signer
/// takes one from the pool, signs, and puts it back. The pool grows to the number of threads that
/// sign at once (the event loops), never more.
///
/// Each context works on its own copy of the key. OpenSSL 3.0 takes the key's write lock on every
/// signature to pick its blinding values, so threads signing with one shared key waited for each
/// other in the kernel (a futex call per token under load).
final class SigningContextPool: @unchecked Sendable {
    /// The decoded key; each context signs with a duplicate of it.
    private let key: RSAKey
    private let idle = Mutex<[Context]>([])

    /// An EVP_PKEY_CTX on a key copy of its own, used by one thread at a time: whoever takes it
    /// from `idle` owns it until it is put back.
    private final class Context: @unchecked Sendable {
        let pkey: OpaquePointer
        let pointer: OpaquePointer

        init(key: RSAKey) throws(KeyError) {
            guard let copy = EVP_PKEY_dup(key.pkey) else { throw KeyError("OpenSSL cannot copy the signing key: \(RSAKey.opensslError())") }
            guard let context = portier_rs256_sign_context(copy, Crypto.sha256Algorithm) else {
                EVP_PKEY_free(copy)
                throw KeyError("OpenSSL cannot set up RS256 signing with this key: \(RSAKey.opensslError())")
            }
            pkey = copy
            pointer = context
        }

        deinit {
            EVP_PKEY_CTX_free(pointer)
            EVP_PKEY_free(pkey)
        }
    }

    init(key: RSAKey) throws(KeyError) {
        guard key.isPrivate else { throw KeyError("cannot sign with a public key") }
        self.key = key
        // One context up front, so a key OpenSSL cannot sign with fails at load, not at the first token.
        put(try Context(key: key))
    }

    /// Signs a SHA-256 digest (PKCS#1 v1.5).
    func sign(digest: UnsafeRawBufferPointer, into signature: UnsafeMutableBufferPointer<UInt8>) throws(KeyError) -> Int {
        let context: Context
        if let reused = idle.withLock({ $0.popLast() }) { context = reused } else { context = try Context(key: key) }
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

    private func put(_ context: Context) {
        idle.withLock { $0.append(context) }
    }
}
