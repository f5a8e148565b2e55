import AsyncHTTPClient
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `portier` subcommands as child processes, restarts the ones that crash (with backoff), and
/// stops them all in order, last started first.
///
/// One lock holds both the "stopping" flag and every start: a start decided before stopping began
/// finishes (and its child is then stopped like the others); none begins after. Children hold the
/// read end of a lifeline pipe (see ``Lifeline``), so they stop even when `portier up` is SIGKILLed.
final class Supervisor: Sendable {
    struct ChildSpec: Sendable {
        var name: String
        /// 0: the child picks a free port, learned from its "listening" log line and kept for restarts.
        var port: Int
        /// The subcommand and its flags, without `--port` (added at each start).
        var arguments: [String]
        /// The `msg` of the child's log line that reports its bound port (not, say, an admin listener's).
        var listeningMessage: String
        /// The admin listener's port (passed as `--admin-port` at each start); 0 is learned from
        /// the child's "admin listener ready" line like ``port``; nil when it has none.
        var adminPort: Int?

        init(name: String, port: Int, arguments: [String], listeningMessage: String? = nil, adminPort: Int? = nil) {
            self.name = name
            self.port = port
            self.arguments = arguments
            self.adminPort = adminPort
            self.listeningMessage = listeningMessage ?? (name == "auth" ? "token server listening" : "\(name) listening")
        }
    }

    /// One supervised process; its state is read by the supervision loop, `stop` and the banner.
    final class Child: Sendable {
        struct State {
            var port: Int
            var adminPort: Int?
            var pid: pid_t = 0
            var exitStatus: Int32?
            var restarts = 0
            var startedAt = ContinuousClock.now
            var nextStart: ContinuousClock.Instant?
            /// Size of the log file when this process was started: its own lines come after.
            var logOffset: UInt64 = 0
        }

        let spec: ChildSpec
        let state: Mutex<State>

        init(spec: ChildSpec) {
            self.spec = spec
            self.state = Mutex(State(port: spec.port, adminPort: spec.adminPort))
        }

        var name: String { spec.name }
        var pid: pid_t { state.withLock { $0.pid } }
        var port: Int { state.withLock { $0.port } }
        var adminPort: Int? { state.withLock { $0.adminPort } }
        var exitStatus: Int32? { state.withLock { $0.exitStatus } }

        /// Reaps the child if it exited (waitpid with WNOHANG), so it never lingers as a zombie.
        var isRunning: Bool {
            state.withLock { state in
                guard state.pid > 0, state.exitStatus == nil else { return false }
                var status: Int32 = 0
                let result = waitpid(state.pid, &status, WNOHANG)
                guard result == state.pid || (result < 0 && errno == ECHILD) else { return true }
                // Exit code, or 128 + signal number as shells report it.
                state.exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                return false
            }
        }
    }

    private struct Shared {
        var stopping = false
        var children: [Child] = []
    }

    let executable: String
    let logDirectory: String
    private let shared = Mutex(Shared())
    private let lifeline: (read: Int32, write: Int32)

    init(executable: String, logDirectory: String) throws {
        self.executable = executable
        self.logDirectory = logDirectory
        Self.keepInheritedDescriptorsFromChildren()
        self.lifeline = try Lifeline.makePipe()
    }

    /// Marks every descriptor `portier up` inherited (beyond 0-2) close-on-exec, so none leaks into
    /// the children: a test harness, for one, learns that a process has exited when a socket it
    /// handed over is closed by every holder. (posix_spawn's addclosefrom_np is not visible from Swift.)
    private static func keepInheritedDescriptorsFromChildren() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for fd in names.compactMap(Int32.init) where fd > 2 {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 && flags & FD_CLOEXEC == 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    deinit {
        close(lifeline.read)
        close(lifeline.write)
    }

    /// The children started so far, in start order.
    var children: [Child] { shared.withLock { $0.children } }

    var isStopping: Bool { shared.withLock { $0.stopping } }

    func logPath(_ name: String) -> String { logDirectory + "/\(name).log" }

    /// Starts a new child; throws ``UpError/stopped`` once stopping has begun.
    @discardableResult
    func launch(_ spec: ChildSpec) throws -> Child {
        let child = Child(spec: spec)
        try shared.withLock { shared in
            guard !shared.stopping else { throw UpError.stopped }
            try spawn(child)
            shared.children.append(child)
        }
        return child
    }

    /// Starts `child` again unless stopping has begun (then returns false).
    private func restart(_ child: Child) throws -> Bool {
        try shared.withLock { shared in
            guard !shared.stopping else { return false }
            try spawn(child)
            return true
        }
    }

    /// Marks the supervisor as stopping: from now on nothing is started or restarted.
    func beginStopping() {
        shared.withLock { $0.stopping = true }
    }

    /// posix_spawn with stdout and stderr appended to the child's log (0600) and the lifeline's read
    /// end as descriptor 3. Called with the shared lock held.
    private func spawn(_ child: Child) throws {
        let path = logPath(child.name)
        let port = child.port
        var info = stat()
        let logOffset = stat(path, &info) == 0 ? UInt64(max(0, info.st_size)) : 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, lifeline.read, Lifeline.childDescriptor)
        let admin = child.adminPort.map { ["--admin-port", String($0)] } ?? []
        let arguments = [executable] + child.spec.arguments + ["--port", String(port)] + admin
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var environment = ProcessInfo.processInfo.environment
        environment[Lifeline.environmentKey] = String(Lifeline.childDescriptor)
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        // Its own process group, so a terminal's Ctrl-C reaches only `portier up`, which then stops
        // the children in order; default SIGINT/SIGTERM handling and no blocked signals.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw UpError("cannot start \(child.name): \(String(cString: strerror(result)))") }
        child.state.withLock { state in
            state.pid = pid
            state.exitStatus = nil
            state.startedAt = .now
            state.nextStart = nil
            state.logOffset = logOffset
        }
    }

    /// For a child started on port 0: waits for its "listening" log line and keeps the port it
    /// reports (a restart reuses it, so the others keep reaching it).
    func discoverPort(_ child: Child, timeout: Duration = .seconds(120)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while child.port == 0 {
            try checkStarting(child)
            let offset = child.state.withLock { $0.logOffset }
            if let port = listeningPort(in: logPath(child.name), from: offset, matching: { $0 == child.spec.listeningMessage }) {
                child.state.withLock { $0.port = port }
                break
            }
            guard ContinuousClock.now < deadline else {
                throw UpError("\(child.name) did not report its port within \(timeout); see \(logPath(child.name))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return child.port
    }

    /// For a child whose admin listener was started on port 0: waits for its "admin listener
    /// ready" log line (the gateway's says "gateway admin listener ready") and keeps the port.
    func discoverAdminPort(_ child: Child, timeout: Duration = .seconds(120)) async throws -> Int? {
        let deadline = ContinuousClock.now + timeout
        while child.adminPort == 0 {
            try checkStarting(child)
            let offset = child.state.withLock { $0.logOffset }
            if let port = listeningPort(in: logPath(child.name), from: offset, matching: { $0.hasSuffix("admin listener ready") }) {
                child.state.withLock { $0.adminPort = port }
                break
            }
            guard ContinuousClock.now < deadline else {
                throw UpError("\(child.name) did not report its admin port within \(timeout); see \(logPath(child.name))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return child.adminPort
    }

    /// The port of the first JSON log line whose `msg` matches after `offset`.
    private func listeningPort(in path: String, from offset: UInt64, matching wanted: (String) -> Bool) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd() else { return nil }
        for line in data.split(separator: UInt8(ascii: "\n")) where line.first == UInt8(ascii: "{") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let message = object["msg"] as? String, wanted(message),
                let port = object["port"] as? Int, (1...65_535).contains(port)
            else { continue }
            return port
        }
        return nil
    }

    /// Waits until the child answers `/health/ready`, or fails if it exits, stopping begins, or it takes too long.
    func waitReady(_ child: Child, host: String, timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        let port = try await discoverPort(child, timeout: timeout)
        _ = try await discoverAdminPort(child, timeout: timeout)
        let url = "http://\(host):\(port)/health/ready"
        while ContinuousClock.now < deadline {
            try checkStarting(child)
            if await Self.isReady(url) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw UpError("\(child.name) did not become ready within \(timeout); see \(logPath(child.name))")
    }

    private func checkStarting(_ child: Child) throws {
        if isStopping { throw UpError.stopped }
        if !child.isRunning {
            throw UpError("\(child.name) exited with status \(child.exitStatus ?? -1) while starting; see \(logPath(child.name))")
        }
    }

    static func isReady(_ url: String) async -> Bool {
        guard let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(1)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 16)
        return response.status == .ok
    }

    /// Restarts crashed children until stopping begins: 1 s, then doubling to 30 s between
    /// attempts; a child that stays up for a minute starts over at 1 s.
    func supervise(report: @Sendable (String) -> Void) async {
        while !isStopping {
            for child in children where !child.isRunning {
                let now = ContinuousClock.now
                let (due, status) = child.state.withLock { state -> (Bool?, Int32) in
                    if let next = state.nextStart { return (now >= next, state.exitStatus ?? -1) }
                    if now - state.startedAt > .seconds(60) { state.restarts = 0 }
                    return (nil, state.exitStatus ?? -1)
                }
                switch due {
                case true?:
                    do {
                        guard try restart(child) else { return }
                        report("\(child.name) restarted (pid \(child.pid))")
                    } catch {
                        child.state.withLock { $0.nextStart = now + .seconds(5) }
                        report("\(child.name) could not be restarted: \(error)")
                    }
                case false?:
                    continue
                case nil:
                    let delay = child.state.withLock { state in
                        let delay = min(30, 1 << min(state.restarts, 5))
                        state.restarts += 1
                        state.nextStart = now + .seconds(delay)
                        return delay
                    }
                    report("\(child.name) exited with status \(status); restarting in \(delay) s (log: \(logPath(child.name)))")
                }
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Stops starting anything and sends SIGKILL to every running child (a second Ctrl-C).
    func killAll() {
        beginStopping()
        for child in children where child.isRunning { kill(child.pid, SIGKILL) }
    }

    /// Begins stopping, then stops the children one at a time, last started first (the gateway
    /// before the services, the token server last): SIGTERM, wait for the exit, SIGKILL after `grace`.
    func stop(grace: Duration = .seconds(15), report: @Sendable (String) -> Void = { _ in }) async {
        beginStopping()
        for child in children.reversed() where child.isRunning {
            kill(child.pid, SIGTERM)
            let deadline = ContinuousClock.now + grace
            while child.isRunning && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            if child.isRunning {
                kill(child.pid, SIGKILL)
                report("\(child.name) did not stop within \(grace); killed")
                let reaped = ContinuousClock.now + .seconds(10)
                while child.isRunning && ContinuousClock.now < reaped { try? await Task.sleep(for: .milliseconds(20)) }
            }
            report("\(child.name) stopped")
        }
    }
}

struct UpError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    /// Stopping began (Ctrl-C or SIGTERM) while starting.
    static let stopped = UpError("stopping")
}
