import Foundation
import Tokens

#if canImport(Glibc)
    import Glibc
#endif

/// Portier's data, keys and logs are private to the user running it: directories 0700, files 0600.
/// The umask set in `Portier.main` covers what is created from now on; this fixes what an earlier
/// version created with wider modes.
enum PrivateFiles {
    /// Names of the files portier keeps in its data, log and keys directories.
    static func isPortierFile(_ name: String) -> Bool {
        [".sqlite", ".sqlite-wal", ".sqlite-shm", ".sqlite-journal", ".secret", ".log", ".pem"].contains { name.hasSuffix($0) }
            || name == "routes.up.json"
    }

    /// Creates `directory` (0700) if missing, then narrows it to 0700 and portier's own files in it
    /// (not subdirectories, not other programs' files: `--data-dir /tmp` must not close /tmp) to 0600.
    /// Only what this user owns is touched; a shared sticky directory such as /tmp is left as it is.
    static func secure(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var info = stat()
        guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid(), info.st_mode & S_ISVTX == 0 else { return }
        if info.st_mode & 0o7777 != 0o700 { chmod(directory, 0o700) }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where isPortierFile(name) {
            let path = directory + "/" + name
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid() else { continue }
            if info.st_mode & 0o7777 != 0o600 { chmod(path, 0o600) }
        }
    }
}

/// The files that hold client secrets on this machine (each 0600, written atomically).
enum SecretFiles {
    /// The demo client `portier up` creates on a first start.
    static let demoClientID = "hotel-client"

    static func demoSecretPath(dataDirectory: String) -> String { dataDirectory + "/demo-client.secret" }

    /// The secret file of `clientID` in `dataDirectory`, if this machine keeps one.
    static func path(forClient clientID: String, dataDirectory: String) -> String? {
        let candidates: [String]
        switch clientID {
        case demoClientID: candidates = [demoSecretPath(dataDirectory: dataDirectory)]
        case "portier-gateway": candidates = [dataDirectory + "/gateway-client.secret"]
        default: candidates = [dataDirectory + "/\(clientID).secret", dataDirectory + "/\(clientID)-client.secret"]
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// After `clients rotate-secret`: replaces the kept copy of the secret, so it is never stale.
    /// Returns the path it refreshed, or nil when no copy is kept.
    @discardableResult
    static func refresh(clientID: String, secret: String, dataDirectory: String) throws -> String? {
        guard let path = path(forClient: clientID, dataDirectory: dataDirectory) else { return nil }
        try AtomicFile.write(Array(secret.utf8), to: path, mode: 0o600)
        return path
    }

    /// Writes a newly created secret (0600, atomically).
    static func write(_ secret: String, to path: String) throws {
        try AtomicFile.write(Array(secret.utf8), to: path, mode: 0o600)
    }

    /// The kept secret at `path`, without surrounding whitespace; nil if there is none.
    static func read(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return secret.isEmpty ? nil : secret
    }
}
