import Foundation
import Logging
import Tokens

/// A client the token server keeps for another Portier process on this machine (the gateway, books),
/// with its secret in a file only the owner can read.
public struct InternalClient: Sendable, Equatable {
    public var id: String
    /// Exactly the scopes the client has; an existing client with other scopes is corrected on start.
    public var scopes: [String]
    /// Where the secret is written, mode 0600.
    public var secretFile: String
    /// Lifetime of its tokens when the client is created.
    public var tokenTTL: Int

    public init(id: String, scopes: [String], secretFile: String, tokenTTL: Int = 900) {
        self.id = id
        self.scopes = scopes
        self.secretFile = secretFile
        self.tokenTTL = tokenTTL
    }
}

/// Makes sure the internal clients exist, with the right scopes and a secret file that matches them.
///
/// The secret is stored only as a hash, so a missing (or unreadable, or stale) secret file cannot be
/// restored: the client is re-keyed and the new secret written. The processes that use the file read
/// it when they ask for a token, so they pick the new secret up without a restart.
enum InternalClients {
    /// Replicas of the token server that share a database and a data directory may start at
    /// once: one of them creates (or re-keys) the client, and the others then find the file
    /// matching. So a replica that lost a race (the id was taken meanwhile, or its file was
    /// overwritten by another replica's secret) looks again, a few times.
    ///
    /// With `rekeysStale` false (a database shared with replicas on other machines), an existing
    /// client whose secret file is missing or stale is left alone and the mismatch logged: its
    /// secret is in use by the other replicas' processes, and re-keying it to a secret only this
    /// machine holds would lock them out.
    static func provision(_ wanted: InternalClient, in clients: ClientStore, rekeysStale: Bool = true, logger: Logger) async throws {
        var attempt = 0
        while true {
            attempt += 1
            do {
                guard try await provisionOnce(wanted, in: clients, rekeysStale: rekeysStale, logger: logger) else { return }
                if let client = try await clients.find(id: wanted.id), let stored = readSecret(wanted.secretFile),
                    ClientSecret.verify(stored, against: client.secretHash)
                {
                    return
                }
            } catch ClientStoreError.duplicate(_) where attempt < 5 {
                continue
            }
            guard attempt < 5 else {
                throw ClientStoreError.invalid("client '\(wanted.id)' and its secret file \(wanted.secretFile) keep changing under another process")
            }
        }
    }

    /// False when a stale secret file was left alone (nothing more to check).
    private static func provisionOnce(_ wanted: InternalClient, in clients: ClientStore, rekeysStale: Bool, logger: Logger) async throws -> Bool {
        let path = wanted.secretFile
        let existing = try await clients.find(id: wanted.id)
        var secret: String?
        if let existing {
            if Set(existing.scopes) != Set(wanted.scopes) {
                try await clients.setScopes(id: wanted.id, scopes: wanted.scopes)
                logger.info(
                    "internal client scopes corrected",
                    metadata: [
                        "client_id": .string(wanted.id), "was": .string(existing.scopes.joined(separator: " ")),
                        "now": .string(wanted.scopes.joined(separator: " ")),
                    ]
                )
            }
            if let stored = readSecret(path), ClientSecret.verify(stored, against: existing.secretHash) {
                try restrictMode(path)
                return true
            }
            guard rekeysStale else {
                logger.error(
                    "an internal client's secret file is missing or does not match the shared database; not re-keying it, which would lock out the other replicas",
                    metadata: [
                        "client_id": .string(wanted.id), "secret_file": .string(path),
                        "fix": .string("put the client's secret in the file, or rotate it everywhere: portier clients rotate-secret \(wanted.id) --secret ..."),
                    ]
                )
                return false
            }
            secret = try await clients.rotateSecret(id: wanted.id)
        } else {
            secret = try await clients.add(id: wanted.id, scopes: wanted.scopes, tokenTTL: wanted.tokenTTL).secret
        }
        guard let secret else { return true }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
        )
        try AtomicFile.write(Array(secret.utf8), to: path, mode: 0o600)
        logger.info(
            existing == nil ? "internal client created" : "internal client re-keyed (its secret file was missing or stale)",
            metadata: ["client_id": .string(wanted.id), "scopes": .string(wanted.scopes.joined(separator: " ")), "secret_file": .string(path)]
        )
        return true
    }

    /// The secret in the file, if it can be read (at most 4 KiB of text).
    private static func readSecret(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 4096), let text = String(data: data, encoding: .utf8) else { return nil }
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return secret.isEmpty ? nil : secret
    }

    /// A secret file someone widened (cp, an editor) is narrowed back to 0600.
    private static func restrictMode(_ path: String) throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
    }
}
