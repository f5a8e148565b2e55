import AsyncHTTPClient
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs `portier` subcommands as child processes, restarts the ones that crash (with backoff), and
/// stops them all in order.
final class Supervisor: Sendable {
    struct ChildSpec: Sendable {
        var name: String
        var port: Int
        var arguments: [String]
    }

    final class Child: @unchecked Sendable {
        let spec: ChildSpec
        // Touched only by the supervisor's task (start, poll, stop run one at a time).
        private(set) var pid: pid_t = 0
        private(set) var exitStatus: Int32?
        var restarts = 0
        var startedAt = ContinuousClock.now
        var nextStart: ContinuousClock.Instant?

        init(spec: ChildSpec) {
            self.spec = spec
        }

        func started(_ pid: pid_t) {
            self.pid = pid
            exitStatus = nil
            startedAt = .now
            nextStart = nil
        }

        /// Reaps the child if it exited (waitpid with WNOHANG), so it never lingers as a zombie.
        var isRunning: Bool {
            guard pid > 0, exitStatus == nil else { return false }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result < 0 && errno == ECHILD) {
                // Exit code, or 128 + signal number as shells report it.
                exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                return false
            }
            return true
        }
    }

    let executable: String
    let logDirectory: String
    let children: [Child]
    private let stopping = Atomic<Bool>(false)

    init(executable: String, logDirectory: String, specs: [ChildSpec]) {
        self.executable = executable
        self.logDirectory = logDirectory
        self.children = specs.map(Child.init)
    }

    func logPath(_ name: String) -> String { logDirectory + "/\(name).log" }

    /// Starts one child (posix_spawn) with stdout and stderr appended to its log file.
    func start(_ child: Child) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let path = logPath(child.spec.name)
        posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let argv = ([executable] + child.spec.arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard result == 0 else { throw UpError("cannot start \(child.spec.name): \(String(cString: strerror(result)))") }
        child.started(pid)
    }

    /// Waits until the child answers `/health/ready`, or fails if it exits or takes too long.
    func waitReady(_ child: Child, host: String, timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        let url = "http://\(host):\(child.spec.port)/health/ready"
        while ContinuousClock.now < deadline {
            if !child.isRunning {
                throw UpError("\(child.spec.name) exited with status \(child.exitStatus ?? -1) while starting; see \(logPath(child.spec.name))")
            }
            if await Self.isReady(url) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw UpError("\(child.spec.name) did not become ready within \(timeout); see \(logPath(child.spec.name))")
    }

    static func isReady(_ url: String) async -> Bool {
        guard let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(1)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 16)
        return response.status == .ok
    }

    /// Restarts crashed children until `stop` is called: 1 s, then doubling to 30 s between
    /// attempts; a child that stays up for a minute starts over at 1 s.
    func supervise(report: @Sendable (String) -> Void) async {
        while !stopping.load(ordering: .relaxed) {
            for child in children where !child.isRunning && !stopping.load(ordering: .relaxed) {
                let now = ContinuousClock.now
                if let next = child.nextStart {
                    guard now >= next else { continue }
                    do {
                        try start(child)
                        report("\(child.spec.name) restarted (pid \(child.pid))")
                    } catch {
                        child.nextStart = now + .seconds(5)
                        report("\(child.spec.name) could not be restarted: \(error)")
                    }
                    continue
                }
                if now - child.startedAt > .seconds(60) { child.restarts = 0 }
                let delay = min(30, 1 << min(child.restarts, 5))
                child.restarts += 1
                child.nextStart = now + .seconds(delay)
                let status = child.exitStatus ?? -1
                report("\(child.spec.name) exited with status \(status); restarting in \(delay) s (log: \(logPath(child.spec.name)))")
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// SIGTERM to every child, last started first; SIGKILL for any still running after `grace`.
    func stop(grace: Duration = .seconds(15)) async {
        stopping.store(true, ordering: .relaxed)
        for child in children.reversed() where child.isRunning {
            kill(child.pid, SIGTERM)
            let deadline = ContinuousClock.now + grace
            while child.isRunning && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if child.isRunning { kill(child.pid, SIGKILL) }
        }
    }
}

struct UpError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
