import Synchronization
import Tokens

/// Verified tokens by their exact text, so a repeat request skips the RSA check. Bounded in size;
/// an entry is never used past its `exp` (the claims are re-checked on every hit) and a revoked
/// `jti` is refused before the cache is consulted.
final class TokenCache: Sendable {
    private let entries = Mutex<[String: TokenClaims]>([:])
    private let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    func lookup(_ token: String) -> TokenClaims? {
        entries.withLock { $0[token] }
    }

    func insert(_ token: String, _ claims: TokenClaims, now: Int64) {
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { ($0.value.exp ?? 0) > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[token] = claims
        }
    }

    func remove(_ token: String) {
        _ = entries.withLock { $0.removeValue(forKey: token) }
    }
}
