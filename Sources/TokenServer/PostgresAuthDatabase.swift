import EventBus
import Foundation
import Logging
import PostgresNIO

/// The token server's clients and revocation change log in PostgreSQL (schema `portier_auth`),
/// shared by every replica: a client added, rotated or removed through any replica (or
/// `portier clients`) holds for all of them at once, and every replica's revocation feed is the
/// same log with the same cursors.
///
/// **Feed order.** The feed's cursor is the change log's sequence. A sequence value is taken at
/// insert but becomes visible at commit, so a gateway that had read past a later change could
/// miss an earlier one that committed late. Changes are therefore appended under a
/// transaction-scoped advisory lock (the event log's method): they commit in sequence order.
///
/// **No fast path.** Replicas on other machines cannot see a change stamp file, so a client row
/// kept in memory could outlive a secret rotation made through another replica. Every token
/// request reads the client's committed row instead (one primary-key lookup).
public struct PostgresAuthDatabase: AuthStorage {
    let database: PostgresServiceDatabase

    static let changesLockKey: Int64 = 0x706F_7274_7265_766B  // "portrevk"

    public static let migrator = PostgresServiceDatabase.migrator(
        schema: "portier_auth",
        migrations: [
            .init(
                "v1-clients-and-revocations",
                [
                    """
                    CREATE TABLE portier_auth.clients (
                        id text PRIMARY KEY,
                        secret_hash text NOT NULL,
                        scopes text NOT NULL,
                        authorities text NOT NULL DEFAULT '',
                        token_ttl bigint NOT NULL,
                        created_at double precision NOT NULL,
                        not_before bigint
                    )
                    """,
                    """
                    CREATE TABLE portier_auth.revocation_changes (
                        seq bigserial PRIMARY KEY,
                        kind text NOT NULL CHECK (kind IN ('token', 'client')),
                        subject text NOT NULL,
                        client_id text NOT NULL,
                        not_before bigint,
                        expires_at bigint NOT NULL,
                        created_at double precision NOT NULL
                    )
                    """,
                    "CREATE UNIQUE INDEX revocation_changes_token ON portier_auth.revocation_changes (subject) WHERE kind = 'token'",
                    "CREATE INDEX revocation_changes_client ON portier_auth.revocation_changes (client_id, kind)",
                    "CREATE INDEX revocation_changes_expiry ON portier_auth.revocation_changes (expires_at)",
                    "CREATE TABLE portier_auth.revocation_feed_state (id int PRIMARY KEY CHECK (id = 1), pruned_through bigint NOT NULL)",
                    "INSERT INTO portier_auth.revocation_feed_state (id, pruned_through) VALUES (1, 0)",
                ]
            ),
            // Failed client authentications, so every replica's brute-force guard counts them all.
            .init(
                "v2-auth-failures",
                [
                    """
                    CREATE TABLE portier_auth.auth_failures (
                        seq bigserial PRIMARY KEY,
                        replica text NOT NULL,
                        client_id text,
                        address text NOT NULL,
                        failed_at double precision NOT NULL
                    )
                    """,
                    "CREATE INDEX auth_failures_age ON portier_auth.auth_failures (failed_at)",
                ]
            ),
        ],
        bus: false
    )

    /// `pool` is a connection pool the caller runs (a ``PostgresEventLog`` that does not listen).
    public init(pool: PostgresEventLog) {
        database = PostgresServiceDatabase(log: pool, migrator: Self.migrator, source: "auth", usesLog: false)
    }

    public func insert(_ client: OAuthClient) async throws -> Int64? {
        try await database.write { [database] connection -> Int64? in
            let logger = database.logger
            let notBefore = try await Self.notBefore(clientID: client.id, on: connection, logger: logger)
            let inserted = try await connection.query(
                """
                INSERT INTO clients (id, secret_hash, scopes, authorities, token_ttl, created_at, not_before)
                VALUES (\(client.id), \(client.secretHash), \(client.scopes.joined(separator: " ")), \(client.authorities.joined(separator: " ")),
                        \(Int64(client.tokenTTL)), \(client.createdAt.timeIntervalSince1970), \(notBefore))
                ON CONFLICT (id) DO NOTHING RETURNING 1
                """,
                logger: logger
            ).any()
            guard inserted else { throw ClientStoreError.duplicate(client.id) }
            return notBefore
        }
    }

    public func client(id: String) async throws -> OAuthClient? {
        try await database.read { [database] connection in
            try await OAuthClient.first(try await connection.query("SELECT * FROM clients WHERE id = \(id)", logger: database.logger))
        }
    }

    public func clientWithoutWaiting(id: String) -> OAuthClient? { nil }

    public func clients() async throws -> [OAuthClient] {
        try await database.read { [database] connection in
            try await OAuthClient.all(try await connection.query("SELECT * FROM clients ORDER BY id", logger: database.logger))
        }
    }

    public func clientCount() async throws -> Int {
        try await database.read { [database] connection in
            Int(try await connection.query("SELECT count(*)::int8 FROM clients", logger: database.logger).single(Int64.self) ?? 0)
        }
    }

    public func deleteClient(id: String, cutOff: Int64) async throws -> Bool {
        try await database.write { [database] connection -> Bool in
            let logger = database.logger
            guard let ttl = try await connection.query("DELETE FROM clients WHERE id = \(id) RETURNING token_ttl", logger: logger).single(Int64.self)
            else { return false }
            try await Self.cutOff(clientID: id, notBefore: cutOff, tokenTTL: ttl, on: connection, logger: logger)
            return true
        }
    }

    public func replaceSecret(id: String, hash: String, cutOff: Int64) async throws -> Bool {
        try await database.write { [database] connection -> Bool in
            let logger = database.logger
            guard let ttl = try await connection.query(
                "UPDATE clients SET secret_hash = \(hash), not_before = \(cutOff) WHERE id = \(id) RETURNING token_ttl", logger: logger
            ).single(Int64.self) else { return false }
            try await Self.cutOff(clientID: id, notBefore: cutOff, tokenTTL: ttl, on: connection, logger: logger)
            return true
        }
    }

    public func replaceScopes(id: String, scopes: [String]) async throws -> Bool {
        try await database.write { [database] connection in
            try await connection.query(
                "UPDATE clients SET scopes = \(scopes.joined(separator: " ")) WHERE id = \(id) RETURNING 1", logger: database.logger
            ).any()
        }
    }

    public func revoke(jti: String, clientID: String, expiresAt: Int64) async throws {
        try await database.write { [database] connection in
            let logger = database.logger
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.changesLockKey))", logger: logger)
            try await connection.query(
                """
                INSERT INTO revocation_changes (kind, subject, client_id, expires_at, created_at)
                VALUES ('token', \(jti), \(clientID), \(expiresAt), \(Date().timeIntervalSince1970))
                ON CONFLICT (subject) WHERE kind = 'token' DO NOTHING
                """,
                logger: logger
            )
        }
    }

    public func isRevoked(jti: String) async throws -> Bool {
        try await database.read { [database] connection in
            try await connection.query("SELECT 1 FROM revocation_changes WHERE kind = 'token' AND subject = \(jti)", logger: database.logger).any()
        }
    }

    public func notBefore(clientID: String) async throws -> Int64? {
        try await database.read { [database] connection in
            try await Self.notBefore(clientID: clientID, on: connection, logger: database.logger)
        }
    }

    static func notBefore(clientID: String, on connection: PostgresConnection, logger: Logger) async throws -> Int64? {
        for try await value in try await connection.query(
            "SELECT MAX(not_before) FROM revocation_changes WHERE client_id = \(clientID) AND kind = 'client'", logger: logger
        ).decode(Int64?.self) {
            return value
        }
        return nil
    }

    /// A client cut-off, last in the caller's transaction (see the type's note on order).
    static func cutOff(clientID: String, notBefore: Int64, tokenTTL: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(\(changesLockKey))", logger: logger)
        try await connection.query(
            """
            INSERT INTO revocation_changes (kind, subject, client_id, not_before, expires_at, created_at)
            VALUES ('client', \(clientID), \(clientID), \(notBefore), \(notBefore + tokenTTL), \(Date().timeIntervalSince1970))
            """,
            logger: logger
        )
    }

    /// In one snapshot. The cursor is the highest sequence number ever committed: the newest row's,
    /// or, once pruning took every row, the highest one pruned.
    public func changes(since: Int64?, horizon: Int64) async throws -> RevocationChanges {
        try await database.write { [database] connection in
            let logger = database.logger
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            var last: Int64 = 0
            var pruned: Int64 = 0
            for try await (newest, through) in try await connection.query(
                """
                SELECT COALESCE((SELECT MAX(seq) FROM revocation_changes), 0),
                       COALESCE((SELECT pruned_through FROM revocation_feed_state WHERE id = 1), 0)
                """,
                logger: logger
            ).decode((Int64, Int64).self) {
                (last, pruned) = (max(newest, through), through)
            }
            var reset = true
            var from: Int64 = 0
            if let since, since >= pruned, since <= last {
                reset = false
                from = since
            }
            var changes = RevocationChanges(cursor: last, reset: reset, revocations: [], clients: [])
            for try await (kind, subject, notBefore, expiresAt) in try await connection.query(
                """
                SELECT kind, subject, not_before, expires_at FROM revocation_changes
                WHERE seq > \(from) AND seq <= \(last) AND expires_at >= \(horizon) ORDER BY seq
                """,
                logger: logger
            ).decode((String, String, Int64?, Int64).self) {
                changes.add(kind: kind, subject: subject, notBefore: notBefore, expiresAt: expiresAt)
            }
            return changes
        }
    }

    public func purge(expiredBefore horizon: Int64) async throws -> Int {
        try await database.write { [database] connection in
            let logger = database.logger
            let rows = try await connection.query(
                """
                WITH gone AS (DELETE FROM revocation_changes WHERE expires_at < \(horizon) RETURNING seq),
                     mark AS (UPDATE revocation_feed_state SET pruned_through = GREATEST(pruned_through, (SELECT MAX(seq) FROM gone))
                              WHERE id = 1 AND EXISTS (SELECT 1 FROM gone) RETURNING 1)
                SELECT count(*)::int8 FROM gone
                """,
                logger: logger
            )
            return Int(try await rows.single(Int64.self) ?? 0)
        }
    }

    /// Adds this replica's new failures and returns the other replicas' since `after` (or those
    /// of the last `window` on the first call) with the cursor for the next call. Appends take
    /// the change log's lock, so they commit in `seq` order and a cursor never passes a failure
    /// that commits late.
    func exchangeFailures(
        _ outgoing: [AuthFailure], replica: String, after: Int64?, window: Duration
    ) async throws -> (cursor: Int64, incoming: [AuthFailure]) {
        let now = Date().timeIntervalSince1970
        let since = now - Double(window.components.seconds)
        return try await database.write { [database] connection in
            let logger = database.logger
            if !outgoing.isEmpty {
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.failuresLockKey))", logger: logger)
                try await connection.query(
                    """
                    INSERT INTO auth_failures (replica, client_id, address, failed_at)
                    SELECT \(replica), NULLIF(c, ''), a, \(now) FROM unnest(\(outgoing.map { $0.clientID ?? "" })::text[], \(outgoing.map(\.address))::text[]) AS f(c, a)
                    """,
                    logger: logger
                )
            }
            // One statement, so one snapshot: the cursor is the newest failure it could see, and every
            // failure up to it that the filter takes is in its rows (on the first call, those of
            // the window; older ones are never imported later).
            var cursor = after ?? 0
            var incoming: [AuthFailure] = []
            let rows = try await connection.query(
                """
                WITH top AS (SELECT COALESCE(MAX(seq), 0) AS top FROM auth_failures)
                SELECT top.top, f.seq, f.replica, f.client_id, f.address FROM top
                LEFT JOIN auth_failures f ON f.seq > \(after ?? 0) AND f.seq <= top.top AND (\(after != nil) OR f.failed_at >= \(since))
                ORDER BY f.seq
                """,
                logger: logger
            )
            for try await (top, seq, from, clientID, address) in rows.decode((Int64, Int64?, String?, String?, String?).self) {
                cursor = max(cursor, top)
                if let seq, let from, let address, from != replica {
                    cursor = max(cursor, seq)
                    incoming.append(AuthFailure(clientID: clientID, address: address))
                }
            }
            return (cursor, incoming)
        }
    }

    /// Forgets failures older than any window a guard counts in.
    func forgetFailures(before cutoff: Double) async throws {
        try await database.write { [database] connection in
            try await connection.query("DELETE FROM auth_failures WHERE failed_at < \(cutoff)", logger: database.logger)
        }
    }

    static let failuresLockKey: Int64 = 0x706F_7274_6661_696C  // "portfail"

    public func isReachable() async -> Bool {
        (try? await database.ping()) != nil
    }
}

extension OAuthClient: PostgresRecord {
    public init(postgres row: PostgresRandomAccessRow) throws {
        id = try row.value("id")
        secretHash = try row.value("secret_hash")
        scopes = (try row.value("scopes", as: String.self)).split(separator: " ").map(String.init)
        authorities = (try row.value("authorities", as: String.self)).split(separator: " ").map(String.init)
        tokenTTL = Int(try row.value("token_ttl", as: Int64.self))
        createdAt = Date(timeIntervalSince1970: try row.value("created_at"))
        notBefore = try row.value("not_before")
    }
}
