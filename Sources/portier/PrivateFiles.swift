import Foundation
import Tokens
#if canImport(Glibc)
import Glibc
#endif

/// Portier's data, keys and logs are private to the user running it: directories 0700, files 0600.
/// The umask set in `Portier.main` covers what is created from now on; this fixes what an earlier
/// version created with wider modes.
enum PrivateFiles {
    /// Creates `directory` (0700) if missing, then narrows it and everything under it that this user
    /// owns: directories to 0700, files to 0600. Symbolic links are not followed.
    static func secure(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        narrow(directory, isDirectory: true)
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return }
        while let relative = walker.nextObject() as? String {
            let path = directory + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0, info.st_uid == geteuid() else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: narrow(path, isDirectory: true)
            case S_IFREG: narrow(path, isDirectory: false)
            default: continue
            }
        }
    }

    private static func narrow(_ path: String, isDirectory: Bool) {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        let wanted: mode_t = isDirectory ? 0o700 : 0o600
        if info.st_mode & 0o7777 != wanted { chmod(path, wanted) }
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
