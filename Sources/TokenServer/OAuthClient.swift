import Foundation
import GRDB

/// A registered OAuth2 client. The secret exists only as a hash.
public struct OAuthClient: Sendable, Equatable {
    public var id: String
    /// `pbkdf2-sha256$<iterations>$<salt>$<hash>`; see ``ClientSecret``.
    public var secretHash: String
    public var scopes: [String]
    /// Roles copied into the token's `authorities` claim.
    public var authorities: [String]
    /// Access-token lifetime in seconds.
    public var tokenTTL: Int
    public var createdAt: Date
    /// Tokens of this client issued at or before this second (`iat <= notBefore`) are dead: set
    /// when the secret is rotated, so the token endpoint can wait out that second before issuing.
    public var notBefore: Int64?

    init(row: Row) {
        id = row["id"]
        secretHash = row["secret_hash"]
        scopes = (row["scopes"] as String).split(separator: " ").map(String.init)
        authorities = (row["authorities"] as String).split(separator: " ").map(String.init)
        tokenTTL = row["token_ttl"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
        notBefore = row["not_before"]
    }

    init(
        id: String, secretHash: String, scopes: [String], authorities: [String], tokenTTL: Int, createdAt: Date, notBefore: Int64? = nil
    ) {
        self.id = id
        self.secretHash = secretHash
        self.scopes = scopes
        self.authorities = authorities
        self.tokenTTL = tokenTTL
        self.createdAt = createdAt
        self.notBefore = notBefore
    }
}

extension OAuthClient {
    /// The scope a client needs to call introspection and read the revocation feed (gateways).
    public static let introspectScope = "introspect"
}

/// What can go wrong when managing clients; every message names the client.
public enum ClientStoreError: Error, CustomStringConvertible, Equatable {
    case duplicate(String)
    case unknown(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .duplicate(let id): return "client '\(id)' already exists"
        case .unknown(let id): return "no client with id '\(id)'"
        case .invalid(let reason): return reason
        }
    }
}
