import Synchronization
import Tokens

/// Verified tokens by the exact `Authorization` value that carried them, so a repeat request skips
/// parsing and the RSA check. Bounded in size; an entry is never used past its `exp` (the claims
/// are re-checked on every hit), the revocation list is consulted after every hit, and each entry
/// remembers the kid that verified it, so a key pruned from the JWKS takes its cached tokens with it.
final class TokenCache: Sendable {
    /// A class: a hit hands out one reference, not a copy of every claim.
    final class Entry: Sendable {
        let claims: TokenClaims
        /// The signing key that verified the token; the entry is only good while the JWKS has it.
        let kid: String
        /// Who the claims name, worked out once.
        let identity: Identity?

        init(claims: TokenClaims, kid: String, identity: Identity?) {
            self.claims = claims
            self.kid = kid
            self.identity = identity
        }
    }

    /// The entry a connection used last, with the header that found it: a keep-alive connection
    /// usually sends the same token again, which then costs a comparison instead of hashing a
    /// header of a few hundred bytes and taking the cache's lock. Owned by one connection.
    struct Memo {
        fileprivate var authorization: String?
        fileprivate var entry: Entry?
        fileprivate var cache: TokenCache?

        init() {}
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    func lookup(_ token: String) -> Entry? {
        entries.withLock { $0[token] }
    }

    /// ``lookup(_:)``, answered from `memo` when it holds the same header for this cache.
    func lookup(_ token: String, memo: inout Memo) -> Entry? {
        if let entry = memo.entry, memo.cache === self, memo.authorization == token { return entry }
        let entry = lookup(token)
        memo = Memo()
        if let entry {
            memo.authorization = token
            memo.entry = entry
            memo.cache = self
        }
        return entry
    }

    func insert(_ token: String, _ entry: Entry, now: Int64) {
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { ($0.value.claims.exp ?? 0) > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[token] = entry
        }
    }

    func remove(_ token: String) {
        _ = entries.withLock { $0.removeValue(forKey: token) }
    }
}
