import Foundation
import Logging
import ServiceLifecycle
import PortierClients
import PortierHTTP
import Tokens
import UnixSignals

/// Watches routes.json and applies changes while the gateway runs.
///
/// It polls the file's content (through symlinks) rather than relying on inotify, so a write in
/// place, a rename over the file and a Kubernetes-style symlink swap are all seen the same way,
/// within `interval`. SIGHUP reloads at once. A file that fails validation is logged and ignored;
/// the last good table keeps serving.
struct RouteTableWatcher: Service {
    let path: String
    let core: GatewayCore
    let interval: Duration
    let reloadOnSIGHUP: Bool
    let logger: Logger
    private let lastSeen: LastSeen

    /// The digest of the content last seen, and the lock that makes checks take turns.
    final class LastSeen: @unchecked Sendable {
        private let lock = NSLock()
        private let turns = NSLock()
        private var digest: [UInt8]?
        func swap(_ new: [UInt8]) -> [UInt8]? {
            lock.lock()
            defer { lock.unlock() }
            let old = digest
            digest = new
            return old
        }

        /// Runs `body` while no other check runs (it reads, parses and applies synchronously).
        func serially<T>(_ body: () -> T) -> T {
            turns.lock()
            defer { turns.unlock() }
            return body()
        }
    }

    init(path: String, core: GatewayCore, initialContent: Data, interval: Duration, reloadOnSIGHUP: Bool, logger: Logger) {
        self.path = path
        self.core = core
        self.interval = interval
        self.reloadOnSIGHUP = reloadOnSIGHUP
        self.logger = logger
        self.lastSeen = LastSeen()
        _ = lastSeen.swap(Crypto.sha256(Array(initialContent)))
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        check(reason: "file changed", force: false)
                    }
                }
                if reloadOnSIGHUP {
                    group.addTask {
                        let signals = await UnixSignalsSequence(trapping: .sighup)
                        // From here on SIGHUP reloads instead of ending the process; tests wait for this line.
                        logger.info("SIGHUP reloads the routes file", metadata: ["path": .string(path)])
                        for await _ in signals {
                            check(reason: "SIGHUP", force: true)
                        }
                    }
                }
            }
        }
    }

    /// Reads the file; if its content changed (or `force`), validates it whole and swaps it in.
    /// Returns what happened (nil when the file is unchanged), which the status page shows too.
    @discardableResult
    func check(reason: String, force: Bool) -> ReloadRecord? {
        // The poll, SIGHUP and POST /admin/reload may all ask at once: one at a time, or an older
        // read could be applied after a newer one (and the file's digest would then hide it).
        lastSeen.serially { checkNow(reason: reason, force: force) }
    }

    private func checkNow(reason: String, force: Bool) -> ReloadRecord? {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            guard force else { return nil }
            logger.error("cannot read routes file; keeping the current table", metadata: ["path": .string(path)])
            let message = "cannot read \(path): \(error.localizedDescription)"
            return core.noteReload(outcome: "unreadable", reason: reason, error: message)
        }
        let digest = Crypto.sha256(Array(data))
        let previous = lastSeen.swap(digest)
        guard force || previous != digest else { return nil }
        do {
            let configuration = try GatewayConfiguration.parse(data)
            try core.apply(configuration)
            core.metrics.reload(ok: true)
            let record = core.noteReload(outcome: "ok", reason: reason)
            logger.info(
                "routes reloaded",
                metadata: ["path": .string(path), "reason": .string(reason), "routes": .stringConvertible(configuration.routes.count)]
            )
            return record
        } catch {
            core.metrics.reload(ok: false)
            logger.error(
                "routes file rejected; the previous table keeps serving",
                metadata: ["path": .string(path), "reason": .string(reason), "error": .string("\(error)")]
            )
            return core.noteReload(outcome: "rejected", reason: reason, error: "\(error)")
        }
    }
}

/// Keeps the JWKS fresh and polls the token server's revocation list.
struct AuthMaintenance: Service {
    let core: GatewayCore

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    var maintained: JWKSFetcher?
                    var task: Task<Void, Never>?
                    while !Task.isCancelled {
                        // Follow the current JWKS cache across reloads that change the URL.
                        if let jwks = core.authGuard?.jwks, jwks !== maintained {
                            task?.cancel()
                            maintained = jwks
                            task = Task { await jwks.maintain() }
                        }
                        try? await Task.sleep(for: .milliseconds(500))
                    }
                    task?.cancel()
                }
                group.addTask {
                    while !Task.isCancelled {
                        let settings = core.authGuard?.settings.revocations
                        if let settings {
                            await core.revocations.poll(settings, client: core.client)
                        }
                        try? await Task.sleep(for: settings?.interval ?? .seconds(1))
                    }
                }
            }
        }
    }
}
