import Foundation
import GRDB

/// CRUD for clients. Used by the server on every token request and by `portier clients`.
public struct ClientStore: Sendable {
    let database: AuthDatabase

    public init(database: AuthDatabase) {
        self.database = database
    }

    /// Client ids: 1 to 64 characters of letters, digits, `.`, `_` and `-`.
    public static func validate(id: String) throws(ClientStoreError) {
        let allowed = id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard !id.isEmpty, id.utf8.count <= 64, allowed else {
            throw .invalid("client id '\(id)' must be 1-64 characters of letters, digits, '.', '_' or '-'")
        }
    }

    /// Scope tokens per RFC 6749 3.3 (printable ASCII without space, `"` or `\`).
    public static func validate(scopes: [String], field: String = "scope") throws(ClientStoreError) {
        for scope in scopes {
            let ok = !scope.isEmpty && scope.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E && $0 != 0x22 && $0 != 0x5C }
            guard ok else { throw .invalid("\(field) '\(scope)' contains characters RFC 6749 does not allow") }
        }
    }

    /// Registers a client and returns it with its secret in clear text (the only time it exists).
    public func add(
        id: String, scopes: [String], authorities: [String] = [], tokenTTL: Int = 3600, secret: String? = nil
    ) async throws -> (client: OAuthClient, secret: String) {
        try Self.validate(id: id)
        guard !scopes.isEmpty else { throw ClientStoreError.invalid("client '\(id)' needs at least one scope") }
        try Self.validate(scopes: scopes)
        try Self.validate(scopes: authorities, field: "authority")
        guard (60...86_400).contains(tokenTTL) else {
            throw ClientStoreError.invalid("token lifetime must be between 60 and 86400 seconds, got \(tokenTTL)")
        }
        if let secret { try ClientSecret.validate(secret) }
        let clear = secret ?? ClientSecret.generate()
        let client = OAuthClient(
            id: id, secretHash: ClientSecret.hash(clear), scopes: Self.unique(scopes), authorities: Self.unique(authorities),
            tokenTTL: tokenTTL, createdAt: Date()
        )
        var added = client
        do {
            added.notBefore = try await database.writeClients { db in
                // A client re-added under a removed id inherits its cut-off, so the new client's
                // first tokens are issued after it (and the old client's tokens stay dead).
                let notBefore = try RevocationStore.notBefore(db, clientID: client.id)
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
            throw ClientStoreError.duplicate(id)
        }
        return (added, clear)
    }

    /// Looks a client up. Always async: a blocking read on a cooperative thread can deadlock the
    /// server once every reader connection is busy.
    public func find(id: String) async throws -> OAuthClient? {
        try await database.pool.read { db in
            // A cached statement: preparing SQL costs more than running this primary-key lookup.
            let statement = try db.cachedStatement(sql: "SELECT * FROM clients WHERE id = ?")
            return try Row.fetchOne(statement, arguments: [id]).map(OAuthClient.init(row:))
        }
    }

    /// The same lookup, blocking the calling thread, for the token endpoint's fast path on an
    /// event loop (never a cooperative thread): see ``ClientRowReader``.
    func findBlocking(id: String) throws -> OAuthClient? {
        try database.clientRows.find(id: id)
    }

    public func list() async throws -> [OAuthClient] {
        try await database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM clients ORDER BY id").map(OAuthClient.init(row:))
        }
    }

    public func count() async throws -> Int {
        try await database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM clients") ?? 0 }
    }

    /// Deletes a client and cuts off every token it holds: the token server's introspection and
    /// every gateway reading the revocation feed refuse them from now on.
    public func remove(id: String) async throws {
        let now = Self.now()
        let removed = try await database.writeClients { db -> Bool in
            guard let ttl = try Int.fetchOne(db, sql: "SELECT token_ttl FROM clients WHERE id = ?", arguments: [id]) else { return false }
            try db.execute(sql: "DELETE FROM clients WHERE id = ?", arguments: [id])
            try RevocationStore.cutOff(db, clientID: id, notBefore: now, tokenTTL: ttl)
            return true
        }
        guard removed else { throw ClientStoreError.unknown(id) }
    }

    /// Replaces the secret; the old one stops working at once, and so do the tokens issued with it
    /// (a cut-off at this second, like ``remove(id:)``). Returns the new secret.
    public func rotateSecret(id: String, secret: String? = nil) async throws -> String {
        if let secret { try ClientSecret.validate(secret) }
        let clear = secret ?? ClientSecret.generate()
        let hash = ClientSecret.hash(clear)
        let now = Self.now()
        let rotated = try await database.writeClients { db -> Bool in
            guard let ttl = try Int.fetchOne(db, sql: "SELECT token_ttl FROM clients WHERE id = ?", arguments: [id]) else { return false }
            try db.execute(sql: "UPDATE clients SET secret_hash = ?, not_before = ? WHERE id = ?", arguments: [hash, now, id])
            try RevocationStore.cutOff(db, clientID: id, notBefore: now, tokenTTL: ttl)
            return true
        }
        guard rotated else { throw ClientStoreError.unknown(id) }
        return clear
    }

    /// Whole seconds since 1970, the unit of `iat`.
    private static func now() -> Int64 {
        Int64(Date().timeIntervalSince1970)
    }

    /// Replaces a client's allowed scopes (provisioning grants `portier-gateway` new ones on upgrade).
    /// Tokens already issued keep the scopes they were issued with until they expire.
    public func setScopes(id: String, scopes: [String]) async throws {
        guard !scopes.isEmpty else { throw ClientStoreError.invalid("client '\(id)' needs at least one scope") }
        try Self.validate(scopes: scopes)
        let joined = Self.unique(scopes).joined(separator: " ")
        let changes = try await database.writeClients { db in
            try db.execute(sql: "UPDATE clients SET scopes = ? WHERE id = ?", arguments: [joined, id])
            return db.changesCount
        }
        guard changes == 1 else { throw ClientStoreError.unknown(id) }
    }

    /// Every scope some client may ask for (discovery's `scopes_supported`).
    public func allScopes() async throws -> [String] {
        Array(Set(try await list().flatMap(\.scopes))).sorted()
    }

    private static func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}
