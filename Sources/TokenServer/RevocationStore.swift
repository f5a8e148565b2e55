import Foundation
import GRDB

/// A revoked token id, denied until the token would have expired anyway.
public struct Revocation: Codable, Sendable, Equatable {
    public var jti: String
    /// The token's `exp`; after it the entry is useless and is purged.
    public var exp: Int64
}

/// Revoked token ids (RFC 7009), kept only until their tokens expire.
public struct RevocationStore: Sendable {
    let database: AuthDatabase

    public init(database: AuthDatabase) {
        self.database = database
    }

    public func revoke(jti: String, clientID: String, expiresAt: Int64) async throws {
        try await database.pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO revoked_tokens (jti, client_id, expires_at, revoked_at) VALUES (?, ?, ?, ?)",
                arguments: [jti, clientID, expiresAt, Date().timeIntervalSince1970]
            )
        }
    }

    public func isRevoked(jti: String) async throws -> Bool {
        try await database.pool.read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM revoked_tokens WHERE jti = ?"), arguments: [jti]) ?? false
        }
    }

    /// Revocations of tokens that have not expired yet.
    public func active(now: Int64) async throws -> [Revocation] {
        try await database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT jti, expires_at FROM revoked_tokens WHERE expires_at >= ? ORDER BY revoked_at", arguments: [now])
                .map { Revocation(jti: $0["jti"], exp: $0["expires_at"]) }
        }
    }

    /// Drops entries whose tokens have expired; returns how many.
    @discardableResult
    public func purgeExpired(now: Int64) async throws -> Int {
        try await database.pool.write { db in
            try db.execute(sql: "DELETE FROM revoked_tokens WHERE expires_at < ?", arguments: [now])
            return db.changesCount
        }
    }
}
