import Foundation
import GRDB

/// The token server's SQLite file (`<data-dir>/auth.sqlite`): clients and revoked token ids.
/// WAL mode lets the CLI add or remove clients while the server runs.
public struct AuthDatabase: Sendable {
    let pool: DatabasePool

    public init(dataDirectory: String) throws {
        try FileManager.default.createDirectory(
            atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
        )
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: dataDirectory + "/auth.sqlite", configuration: configuration)
        try Self.migrator.migrate(pool)
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
        return migrator
    }

    /// Whether the file answers a trivial query (readiness).
    public func isReachable() async -> Bool {
        (try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }
}
