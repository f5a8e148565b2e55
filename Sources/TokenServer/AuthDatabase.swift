import Foundation
import GRDB

/// The token server's SQLite file (`<data-dir>/auth.sqlite`): clients and the revocation change log.
/// WAL mode lets the CLI add or remove clients while the server runs.
public struct AuthDatabase: Sendable {
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
}
