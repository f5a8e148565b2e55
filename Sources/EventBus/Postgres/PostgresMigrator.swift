import Logging
import PostgresNIO

/// Creates or upgrades one schema: named migrations, each a list of statements, applied once in
/// order and recorded in `<schema>.migrations`. Every process of every replica migrates on start,
/// so all of it runs in one transaction under an advisory lock: the first process applies what is
/// missing, and the others wait and then find nothing to do.
public struct PostgresMigrator: Sendable {
    public struct Migration: Sendable {
        public var name: String
        public var statements: [String]

        public init(_ name: String, _ statements: [String]) {
            self.name = name
            self.statements = statements
        }
    }

    /// A schema name: code constants only, never user input (it is spliced into SQL).
    public let schema: String
    public let migrations: [Migration]

    public init(schema: String, migrations: [Migration]) {
        precondition(!schema.isEmpty && schema.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }, "schema names are code constants")
        self.schema = schema
        self.migrations = migrations
    }

    /// The lock every migration of every schema takes: concurrent `CREATE SCHEMA IF NOT EXISTS`
    /// of two processes can otherwise fail on a unique index of the catalog.
    static let lockKey: Int64 = 0x706F_7274_6D69_6772  // "portmigr"

    /// Applies what is missing; returns the names it applied.
    ///
    /// A database that is already up to date is only read: the application's role then needs no
    /// right to create anything (`CREATE SCHEMA IF NOT EXISTS` checks that right even when the
    /// schema exists).
    @discardableResult
    public func migrate(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        let schema = self.schema
        let migrations = self.migrations
        do {
            let current = try await client.withConnection { connection in
                try await Self.applied(schema, on: connection, logger: logger).isSuperset(of: migrations.map(\.name))
            }
            if current { return [] }
        } catch {
            throw PostgresFailure("reading schema \(schema)'s migrations", error)
        }
        // An advisory lock does not make a backend read the catalog changes committed while it
        // waited, so `CREATE SCHEMA IF NOT EXISTS` right after it can still miss the schema that
        // the lock's previous holder created, and fail on the catalog's unique index. A new
        // transaction reads them: that failure is retried.
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await applyMissing(client, logger: logger)
            } catch let error as PSQLError where attempt < 5 && ["23505", "42P06", "42P07"].contains(error.serverInfo?[.sqlState] ?? "") {
                continue
            } catch let error as PostgresTransactionError where attempt < 5
                && ["23505", "42P06", "42P07"].contains((error.closureError as? PSQLError)?.serverInfo?[.sqlState] ?? "")
            {
                continue
            } catch {
                throw PostgresFailure("migrating schema \(schema)", error)
            }
        }
    }

    private func applyMissing(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        let schema = self.schema
        let migrations = self.migrations
        return try await client.withTransaction(logger: logger) { connection -> [String] in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS \(unescaped: schema).migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger
            )
            let applied = try await Self.applied(schema, on: connection, logger: logger)
            var done: [String] = []
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO \(unescaped: schema).migrations (name) VALUES (\(migration.name))", logger: logger)
                done.append(migration.name)
            }
            return done
        }
    }

    /// The migrations recorded in `<schema>.migrations`; none when the table does not exist yet.
    static func applied(_ schema: String, on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        let table = "\(schema).migrations"
        var exists = false
        for try await found in try await connection.query("SELECT to_regclass(\(table)) IS NOT NULL", logger: logger).decode(Bool.self) {
            exists = found
        }
        var applied: Set<String> = []
        guard exists else { return applied }
        for try await name in try await connection.query("SELECT name FROM \(unescaped: table)", logger: logger).decode(String.self) {
            applied.insert(name)
        }
        return applied
    }
}
