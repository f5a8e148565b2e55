import Foundation

/// A revoked token id, denied until the token would have expired anyway.
public struct Revocation: Codable, Sendable, Equatable {
    public var jti: String
    /// The token's `exp`; the entry is published until `exp` plus the retention margin.
    public var exp: Int64
}

/// A client cut-off (Keycloak's "not-before" push): tokens of `clientID` with `iat <= notBefore`
/// are dead. Recorded when the client is removed or its secret rotated.
public struct ClientCutoff: Codable, Sendable, Equatable {
    public var clientID: String
    public var notBefore: Int64
    /// No token covered by the cut-off lives past this (`notBefore` plus the client's token lifetime).
    public var exp: Int64

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id", notBefore = "not_before", exp
    }
}

/// What a verifier must learn since its cursor; with `reset` it must replace its state instead of merging.
public struct RevocationChanges: Sendable, Equatable {
    /// Pass this back as `since` to get only newer changes.
    public var cursor: Int64
    public var reset: Bool
    public var revocations: [Revocation]
    public var clients: [ClientCutoff]

    /// Adds one row of the change log (`kind` 'token' or 'client').
    mutating func add(kind: String, subject: String, notBefore: Int64?, expiresAt: Int64) {
        if kind == "token" {
            revocations.append(Revocation(jti: subject, exp: expiresAt))
        } else if let notBefore {
            clients.append(ClientCutoff(clientID: subject, notBefore: notBefore, exp: expiresAt))
        }
    }
}

/// Revoked token ids (RFC 7009) and client cut-offs, as one change log whose sequence number is
/// the cursor of the gateways' incremental feed.
///
/// An entry is kept and published until its tokens' `exp` plus `retentionSeconds`, so a verifier
/// that tolerates clock skew (the gateway's `leewaySeconds`, at most 600) never sees a revoked
/// token come back between `exp` and `exp + leeway`.
public struct RevocationStore: Sendable {
    /// At least the largest `leewaySeconds` routes.json accepts.
    public static let defaultRetentionSeconds: Int64 = 600

    let database: any AuthStorage
    public let retentionSeconds: Int64

    public init(database: any AuthStorage, retentionSeconds: Int64 = RevocationStore.defaultRetentionSeconds) {
        self.database = database
        self.retentionSeconds = retentionSeconds
    }

    public func revoke(jti: String, clientID: String, expiresAt: Int64) async throws {
        try await database.revoke(jti: jti, clientID: clientID, expiresAt: expiresAt)
    }

    public func isRevoked(jti: String) async throws -> Bool {
        try await database.isRevoked(jti: jti)
    }

    /// Whether a token is dead: its jti is revoked, or its client was cut off at or after its `iat`
    /// (a token without `iat` is dead once its client has any cut-off).
    public func isDead(jti: String?, clientID: String, iat: Int64?) async throws -> Bool {
        if let jti, try await database.isRevoked(jti: jti) { return true }
        guard let notBefore = try await database.notBefore(clientID: clientID) else { return false }
        guard let iat else { return true }
        return iat <= notBefore
    }

    /// Changes after `since`, or everything still relevant (with `reset`) when `since` is nil, lies
    /// ahead of the log (the database was replaced) or behind what was pruned.
    public func changes(since: Int64?, now: Int64) async throws -> RevocationChanges {
        try await database.changes(since: since, horizon: now - retentionSeconds)
    }

    /// Drops entries whose tokens expired more than the retention margin ago; returns how many.
    /// Remembers the highest sequence number dropped, so a feed reader behind it is told to resync.
    @discardableResult
    public func purgeExpired(now: Int64) async throws -> Int {
        try await database.purge(expiredBefore: now - retentionSeconds)
    }
}
