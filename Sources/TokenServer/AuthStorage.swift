import Foundation

/// Where the token server keeps its clients and its revocation change log. Two engines:
/// ``AuthDatabase`` (a SQLite file, one machine) and ``PostgresAuthDatabase`` (shared by any
/// number of token server replicas). ``ClientStore`` and ``RevocationStore`` hold the rules;
/// this holds the records.
public protocol AuthStorage: Sendable {
    /// Inserts a client, inheriting the latest cut-off of a removed client of the same id (its
    /// `notBefore`, returned), so the new client's first tokens are issued after it.
    /// Throws ``ClientStoreError/duplicate(_:)`` when the id is taken.
    func insert(_ client: OAuthClient) async throws -> Int64?
    func client(id: String) async throws -> OAuthClient?
    /// The client's committed row without suspending, for the token endpoint's fast path on an
    /// event loop; nil when the engine cannot answer that way (the slow path then asks).
    func clientWithoutWaiting(id: String) -> OAuthClient?
    func clients() async throws -> [OAuthClient]
    func clientCount() async throws -> Int
    /// Deletes the client and records a cut-off at `cutOff`; false when there is no such client.
    func deleteClient(id: String, cutOff: Int64) async throws -> Bool
    /// Replaces the secret's hash and records a cut-off at `cutOff`; false when there is no such client.
    func replaceSecret(id: String, hash: String, cutOff: Int64) async throws -> Bool
    /// False when there is no such client.
    func replaceScopes(id: String, scopes: [String]) async throws -> Bool

    func revoke(jti: String, clientID: String, expiresAt: Int64) async throws
    func isRevoked(jti: String) async throws -> Bool
    /// The latest cut-off of a client still on record.
    func notBefore(clientID: String) async throws -> Int64?
    /// Changes after `since` still relevant at `horizon` (see ``RevocationStore/changes(since:now:)``).
    func changes(since: Int64?, horizon: Int64) async throws -> RevocationChanges
    /// Drops entries that expired before `horizon`; returns how many.
    func purge(expiredBefore horizon: Int64) async throws -> Int

    /// Whether the store answers a trivial query (readiness).
    func isReachable() async -> Bool
}
