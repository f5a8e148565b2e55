import Foundation
import GRDB

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

    let database: AuthDatabase
    public let retentionSeconds: Int64

    public init(database: AuthDatabase, retentionSeconds: Int64 = RevocationStore.defaultRetentionSeconds) {
        self.database = database
        self.retentionSeconds = retentionSeconds
    }

    public func revoke(jti: String, clientID: String, expiresAt: Int64) async throws {
        try await database.pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO revocation_changes (kind, subject, client_id, expires_at, created_at)
                    VALUES ('token', ?, ?, ?, ?)
                    """,
                arguments: [jti, clientID, expiresAt, Date().timeIntervalSince1970]
            )
        }
    }

    public func isRevoked(jti: String) async throws -> Bool {
        try await database.pool.read { db in try Self.isRevoked(db, jti: jti) }
    }

    private static func isRevoked(_ db: Database, jti: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM revocation_changes WHERE kind = 'token' AND subject = ?"), arguments: [jti]) ?? false
    }

    /// Whether a token is dead: its jti is revoked, or its client was cut off at or after its `iat`
    /// (a token without `iat` is dead once its client has any cut-off).
    public func isDead(jti: String?, clientID: String, iat: Int64?) async throws -> Bool {
        try await database.pool.read { db in
            if let jti, try Self.isRevoked(db, jti: jti) { return true }
            guard let notBefore = try Self.notBefore(db, clientID: clientID) else { return false }
            guard let iat else { return true }
            return iat <= notBefore
        }
    }

    /// Records a cut-off for a client inside the caller's transaction (``ClientStore`` calls it
    /// when it removes a client or rotates its secret).
    static func cutOff(_ db: Database, clientID: String, notBefore: Int64, tokenTTL: Int) throws {
        try db.execute(
            sql: """
                INSERT INTO revocation_changes (kind, subject, client_id, not_before, expires_at, created_at)
                VALUES ('client', ?, ?, ?, ?, ?)
                """,
            arguments: [clientID, clientID, notBefore, notBefore + Int64(tokenTTL), Date().timeIntervalSince1970]
        )
    }

    /// The latest cut-off still on record for a client.
    static func notBefore(_ db: Database, clientID: String) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(not_before) FROM revocation_changes WHERE client_id = ? AND kind = 'client'"),
            arguments: [clientID]
        )
    }

    /// Changes after `since`, or everything still relevant (with `reset`) when `since` is nil, lies
    /// ahead of the log (the database was replaced) or behind what was pruned.
    public func changes(since: Int64?, now: Int64) async throws -> RevocationChanges {
        let horizon = now - retentionSeconds
        return try await database.pool.read { db in
            let last = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'revocation_changes'") ?? 0
            let pruned = try Int64.fetchOne(db, sql: "SELECT pruned_through FROM revocation_feed_state WHERE id = 1") ?? 0
            var reset = true
            var from: Int64 = 0
            if let since, since >= pruned, since <= last {
                reset = false
                from = since
            }
            var revocations: [Revocation] = []
            var clients: [ClientCutoff] = []
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT kind, subject, not_before, expires_at FROM revocation_changes
                    WHERE seq > ? AND seq <= ? AND expires_at >= ? ORDER BY seq
                    """,
                arguments: [from, last, horizon]
            )
            while let row = try rows.next() {
                let kind: String = row["kind"]
                if kind == "token" {
                    revocations.append(Revocation(jti: row["subject"], exp: row["expires_at"]))
                } else if let notBefore: Int64 = row["not_before"] {
                    clients.append(ClientCutoff(clientID: row["subject"], notBefore: notBefore, exp: row["expires_at"]))
                }
            }
            return RevocationChanges(cursor: last, reset: reset, revocations: revocations, clients: clients)
        }
    }

    /// Drops entries whose tokens expired more than the retention margin ago; returns how many.
    /// Remembers the highest sequence number dropped, so a feed reader behind it is told to resync.
    @discardableResult
    public func purgeExpired(now: Int64) async throws -> Int {
        let horizon = now - retentionSeconds
        return try await database.pool.write { db in
            let highest = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM revocation_changes WHERE expires_at < ?", arguments: [horizon])
            guard let highest else { return 0 }
            try db.execute(sql: "DELETE FROM revocation_changes WHERE expires_at < ?", arguments: [horizon])
            let count = db.changesCount
            try db.execute(sql: "UPDATE revocation_feed_state SET pruned_through = MAX(pruned_through, ?) WHERE id = 1", arguments: [highest])
            return count
        }
    }
}
