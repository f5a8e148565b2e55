import Foundation
import GRDB

/// The token server's SQLite file (`<data-dir>/auth.sqlite`): clients and the revocation change log.
/// WAL mode lets the CLI add or remove clients while the server runs.
public struct AuthDatabase: AuthStorage {
    let pool: DatabasePool
    /// Client rows for the token endpoint's fast path, kept while the change stamp stands still.
    let clientRows: ClientRowReader
    /// `<data-dir>/auth.clients-stamp`: moved after every committed change to `clients`.
    let clientsStamp: String

    public init(dataDirectory: String) throws {
        try FileManager.default.createDirectory(
            atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
        )
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let path = dataDirectory + "/auth.sqlite"
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
        clientsStamp = dataDirectory + "/auth.clients-stamp"
        clientRows = ClientRowReader(path: path, stampPath: clientsStamp)
        // A data directory from before the stamp existed gets one now.
        ClientRowReader.touch(clientsStamp)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-clients-and-revocations") { db in
            try db.execute(
                sql: """
                    CREATE TABLE clients (
                        id TEXT PRIMARY KEY NOT NULL,
                        secret_hash TEXT NOT NULL,
                        scopes TEXT NOT NULL,
                        authorities TEXT NOT NULL DEFAULT '',
                        token_ttl INTEGER NOT NULL,
                        created_at REAL NOT NULL
                    );
                    CREATE TABLE revoked_tokens (
                        jti TEXT PRIMARY KEY NOT NULL,
                        client_id TEXT NOT NULL,
                        expires_at INTEGER NOT NULL,
                        revoked_at REAL NOT NULL
                    );
                    CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
                    """
            )
        }
        // One change log for everything a verifier must refuse: revoked token ids and per-client
        // "not before" cut-offs (client removed or secret rotated). Its AUTOINCREMENT id is the
        // cursor of the incremental feed (`GET /oauth/revocations?since=`): never reused, always growing.
        migrator.registerMigration("v2-revocation-changes") { db in
            try db.execute(
                sql: """
                    CREATE TABLE revocation_changes (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        kind TEXT NOT NULL CHECK (kind IN ('token', 'client')),
                        subject TEXT NOT NULL,
                        client_id TEXT NOT NULL,
                        not_before INTEGER,
                        expires_at INTEGER NOT NULL,
                        created_at REAL NOT NULL
                    );
                    CREATE UNIQUE INDEX revocation_changes_token ON revocation_changes (subject) WHERE kind = 'token';
                    CREATE INDEX revocation_changes_client ON revocation_changes (client_id, kind);
                    CREATE INDEX revocation_changes_expiry ON revocation_changes (expires_at);
                    INSERT INTO revocation_changes (kind, subject, client_id, expires_at, created_at)
                        SELECT 'token', jti, client_id, expires_at, revoked_at FROM revoked_tokens ORDER BY revoked_at;
                    DROP TABLE revoked_tokens;
                    CREATE TABLE revocation_feed_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        pruned_through INTEGER NOT NULL
                    );
                    INSERT INTO revocation_feed_state (id, pruned_through) VALUES (1, 0);
                    ALTER TABLE clients ADD COLUMN not_before INTEGER;
                    """
            )
        }
        return migrator
    }

    /// A write transaction that changes `clients`; the change stamp moves once it has committed,
    /// before the caller (say `portier clients rotate-secret`) hears that it is done.
    func writeClients<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        defer { ClientRowReader.touch(clientsStamp) }
        return try await pool.write(updates)
    }

    /// Whether the file answers a trivial query (readiness).
    public func isReachable() async -> Bool {
        (try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    public func insert(_ client: OAuthClient) async throws -> Int64? {
        do {
            return try await writeClients { db in
                let notBefore = try Self.notBefore(db, clientID: client.id)
                try db.execute(
                    sql: """
                        INSERT INTO clients (id, secret_hash, scopes, authorities, token_ttl, created_at, not_before)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        client.id, client.secretHash, client.scopes.joined(separator: " "), client.authorities.joined(separator: " "),
                        client.tokenTTL, client.createdAt.timeIntervalSince1970, notBefore,
                    ]
                )
                return notBefore
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw ClientStoreError.duplicate(client.id)
        }
    }

    /// Always async: a blocking read on a cooperative thread can deadlock the server once every
    /// reader connection is busy.
    public func client(id: String) async throws -> OAuthClient? {
        try await pool.read { db in
            // A cached statement: preparing SQL costs more than running this primary-key lookup.
            let statement = try db.cachedStatement(sql: "SELECT * FROM clients WHERE id = ?")
            return try Row.fetchOne(statement, arguments: [id]).map(OAuthClient.init(row:))
        }
    }

    /// From ``ClientRowReader``: rows kept in memory while the change stamp stands still.
    public func clientWithoutWaiting(id: String) -> OAuthClient? {
        try? clientRows.find(id: id)
    }

    public func clients() async throws -> [OAuthClient] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM clients ORDER BY id").map(OAuthClient.init(row:)) }
    }

    public func clientCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM clients") ?? 0 }
    }

    public func deleteClient(id: String, cutOff: Int64) async throws -> Bool {
        try await writeClients { db -> Bool in
            guard let ttl = try Int.fetchOne(db, sql: "SELECT token_ttl FROM clients WHERE id = ?", arguments: [id]) else { return false }
            try db.execute(sql: "DELETE FROM clients WHERE id = ?", arguments: [id])
            try Self.cutOff(db, clientID: id, notBefore: cutOff, tokenTTL: ttl)
            return true
        }
    }

    public func replaceSecret(id: String, hash: String, cutOff: Int64) async throws -> Bool {
        try await writeClients { db -> Bool in
            guard let ttl = try Int.fetchOne(db, sql: "SELECT token_ttl FROM clients WHERE id = ?", arguments: [id]) else { return false }
            try db.execute(sql: "UPDATE clients SET secret_hash = ?, not_before = ? WHERE id = ?", arguments: [hash, cutOff, id])
            try Self.cutOff(db, clientID: id, notBefore: cutOff, tokenTTL: ttl)
            return true
        }
    }

    public func replaceScopes(id: String, scopes: [String]) async throws -> Bool {
        let joined = scopes.joined(separator: " ")
        return try await writeClients { db in
            try db.execute(sql: "UPDATE clients SET scopes = ? WHERE id = ?", arguments: [joined, id])
            return db.changesCount == 1
        }
    }

    public func revoke(jti: String, clientID: String, expiresAt: Int64) async throws {
        try await pool.write { db in
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
        try await pool.read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM revocation_changes WHERE kind = 'token' AND subject = ?"), arguments: [jti]) ?? false
        }
    }

    public func notBefore(clientID: String) async throws -> Int64? {
        try await pool.read { db in try Self.notBefore(db, clientID: clientID) }
    }

    /// A client cut-off, inside the caller's transaction.
    static func cutOff(_ db: Database, clientID: String, notBefore: Int64, tokenTTL: Int) throws {
        try db.execute(
            sql: """
                INSERT INTO revocation_changes (kind, subject, client_id, not_before, expires_at, created_at)
                VALUES ('client', ?, ?, ?, ?, ?)
                """,
            arguments: [clientID, clientID, notBefore, notBefore + Int64(tokenTTL), Date().timeIntervalSince1970]
        )
    }

    static func notBefore(_ db: Database, clientID: String) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(not_before) FROM revocation_changes WHERE client_id = ? AND kind = 'client'"),
            arguments: [clientID]
        )
    }

    public func changes(since: Int64?, horizon: Int64) async throws -> RevocationChanges {
        try await pool.read { db in
            let last = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'revocation_changes'") ?? 0
            let pruned = try Int64.fetchOne(db, sql: "SELECT pruned_through FROM revocation_feed_state WHERE id = 1") ?? 0
            var reset = true
            var from: Int64 = 0
            if let since, since >= pruned, since <= last {
                reset = false
                from = since
            }
            var changes = RevocationChanges(cursor: last, reset: reset, revocations: [], clients: [])
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT kind, subject, not_before, expires_at FROM revocation_changes
                    WHERE seq > ? AND seq <= ? AND expires_at >= ? ORDER BY seq
                    """,
                arguments: [from, last, horizon]
            )
            while let row = try rows.next() {
                changes.add(kind: try row.decode(forColumn: "kind"), subject: try row.decode(forColumn: "subject"),
                            notBefore: try row.decode(forColumn: "not_before"), expiresAt: try row.decode(forColumn: "expires_at"))
            }
            return changes
        }
    }

    public func purge(expiredBefore horizon: Int64) async throws -> Int {
        try await pool.write { db in
            let highest = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM revocation_changes WHERE expires_at < ?", arguments: [horizon])
            guard let highest else { return 0 }
            try db.execute(sql: "DELETE FROM revocation_changes WHERE expires_at < ?", arguments: [horizon])
            let count = db.changesCount
            try db.execute(sql: "UPDATE revocation_feed_state SET pruned_through = MAX(pruned_through, ?) WHERE id = 1", arguments: [highest])
            return count
        }
    }
}
