import Foundation

/// CRUD for clients. Used by the server on every token request and by `portier clients`.
public struct ClientStore: Sendable {
    let database: any AuthStorage

    public init(database: any AuthStorage) {
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
        added.notBefore = try await database.insert(client)
        return (added, clear)
    }

    /// Looks a client up.
    public func find(id: String) async throws -> OAuthClient? {
        try await database.client(id: id)
    }

    /// The same lookup without suspending, for the token endpoint's fast path on an event loop;
    /// nil when the store cannot answer that way.
    func findWithoutWaiting(id: String) -> OAuthClient? {
        database.clientWithoutWaiting(id: id)
    }

    public func list() async throws -> [OAuthClient] {
        try await database.clients()
    }

    public func count() async throws -> Int {
        try await database.clientCount()
    }

    /// Deletes a client and cuts off every token it holds: the token server's introspection and
    /// every gateway reading the revocation feed refuse them from now on.
    public func remove(id: String) async throws {
        guard try await database.deleteClient(id: id, cutOff: Self.now()) else { throw ClientStoreError.unknown(id) }
    }

    /// Replaces the secret; the old one stops working at once, and so do the tokens issued with it
    /// (a cut-off at this second, like ``remove(id:)``). Returns the new secret.
    public func rotateSecret(id: String, secret: String? = nil) async throws -> String {
        if let secret { try ClientSecret.validate(secret) }
        let clear = secret ?? ClientSecret.generate()
        guard try await database.replaceSecret(id: id, hash: ClientSecret.hash(clear), cutOff: Self.now()) else { throw ClientStoreError.unknown(id) }
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
        guard try await database.replaceScopes(id: id, scopes: Self.unique(scopes)) else { throw ClientStoreError.unknown(id) }
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
