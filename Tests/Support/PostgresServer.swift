import Foundation
import Logging
import PostgresNIO
import Synchronization

/// A throwaway PostgreSQL cluster for the tests: one per test process, in a temporary directory, on
/// a free loopback port, started on first use. Each test takes a database of its own
/// (``database(_:)``), so suites run in parallel without seeing each other's rows.
///
/// PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to the
/// `postgres` user (`runuser`). A watchdog process stops the cluster and removes its directory when
/// the test process ends, also when it crashes or is killed. `make test` installs the server
/// (Debian's `postgresql`) when missing; nothing depends on a server started by hand.
public struct PostgresServer: Sendable {
    public let port: Int
    let binDirectory: String
    let directory: String
    /// Keeps the port from any port-0 bind for the server's whole life, restarts included (the
    /// server binds it too: both set SO_REUSEADDR, and only the server listens).
    let held: HeldPort?

    /// The cluster this test process shares; started by the first caller.
    public static func shared() async throws -> PostgresServer {
        try await started.value
    }

    private static let started = Task { try await offThread { try PostgresServer.start() } }

    /// Runs blocking work (a child process and its wait) on a thread of its own: the tests' 2-core
    /// cooperative pool must not stall while `initdb` or `pg_ctl` runs.
    static func offThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// A new, empty database in the shared cluster; returns its URL
    /// (`postgres://portier@127.0.0.1:<port>/<name>`).
    public static func database(_ prefix: String = "t") async throws -> String {
        try await shared().createDatabase(prefix)
    }

    /// A cluster of the caller's own, for a test that stops and starts it (the shared one must stay
    /// up for the tests running beside it). ``shutdown()`` removes it.
    public static func startPrivate() async throws -> PostgresServer {
        try await offThread { try start() }
    }

    /// Over a connection, not `psql`: the tests start few child processes beside their own, as
    /// Foundation's `Process` is the part of them least at ease with many threads at once.
    public func createDatabase(_ prefix: String = "t") async throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        let configuration = PostgresConnection.Configuration(
            host: "127.0.0.1", port: port, username: "portier", password: nil, database: "postgres", tls: .disable
        )
        // A server that accepts TCP may still be starting up (more so with many connection slots
        // to set up): the first connections are retried for a while.
        var attempt = 0
        while true {
            attempt += 1
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "test-postgres"))
            } catch where attempt < 300 {
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            do {
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Logger(label: "test-postgres"))
            } catch {
                try? await connection.close()
                throw ChildProcessError("CREATE DATABASE \(name) failed: \(String(reflecting: error))")
            }
            try await connection.close()
            return url(database: name)
        }
    }

    /// Stops the cluster and removes its directory.
    public func shutdown() {
        try? stopNow(immediately: true)
        try? FileManager.default.removeItem(atPath: directory)
    }

    public func url(database: String) -> String { "postgres://portier@127.0.0.1:\(port)/\(database)" }

    /// Stops the cluster at once (as a crash would) or cleanly, and starts it again on the same
    /// port and data: for tests of what the processes do while the database is away.
    public func stop(immediately: Bool = true) async throws {
        try await Self.offThread { try stopNow(immediately: immediately) }
    }

    func stopNow(immediately: Bool) throws {
        try asOwner(binDirectory + "/pg_ctl", ["-D", directory + "/data", "-m", immediately ? "immediate" : "fast", "-w", "stop"])
    }

    /// Starts the server and waits until it accepts connections. It runs as a child of this process,
    /// not daemonized by `pg_ctl start`, so a server that exits at once (its port taken) is seen.
    public func start() async throws {
        try await Self.offThread { try startNow() }
    }

    func startNow() throws {
        let options = [
            // TCP on loopback only; no Unix socket (a long TMPDIR would exceed its path limit).
            "-D", directory + "/data", "-c", "listen_addresses=127.0.0.1", "-p", String(port), "-c", "unix_socket_directories=",
            // A throwaway cluster need not survive a power cut; without fsync the tests run faster.
            // Many test processes' pools at once (replicas of every process, token servers...).
            "-c", "fsync=off", "-c", "max_connections=1000", "-c", "logging_collector=off",
        ]
        let postgres = binDirectory + "/postgres"
        let server =
            getuid() == 0
            ? try SpawnedProcess.start("/usr/sbin/runuser", ["-u", "postgres", "--", postgres] + options, output: directory + "/server.log", append: true)
            : try SpawnedProcess.start(postgres, options, output: directory + "/server.log", append: true)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if !server.isRunning {
                let text = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
                throw ChildProcessError("postgres exited (\(server.terminationStatus)): \(text.suffix(2000))")
            }
            if Self.acceptsConnections(port: port) { return }
            usleep(50_000)
        }
        kill(server.processIdentifier, SIGTERM)
        throw ChildProcessError("postgres did not accept connections within 60 s")
    }

    static func start() throws -> PostgresServer {
        let bin = try findBinaries()
        let directory = NSTemporaryDirectory() + "portier-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if getuid() == 0 {
            _ = try run("/bin/chown", ["postgres:postgres", directory])
        }
        var server = PostgresServer(port: 0, binDirectory: bin, directory: directory, held: nil)
        // Trust on loopback only: the cluster lives as long as this test process, in its own directory.
        try server.asOwner(
            bin + "/initdb", ["-D", directory + "/data", "-U", "portier", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        )
        Watchdog.start(directory: directory, pgctl: bin + "/pg_ctl")
        // A port found free can be taken before the server binds it: try a few.
        var lastError: any Error = ChildProcessError("no attempt")
        for _ in 0..<5 {
            let held = try HeldPort()
            server = PostgresServer(port: held.port, binDirectory: bin, directory: directory, held: held)
            do {
                try server.startNow()
                return server
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Whether something accepts TCP connections on the loopback port (the server, once it is up;
    /// the port is held for it, so nothing else listens there).
    static func acceptsConnections(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    static func findBinaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        for version in versions.reversed() where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        throw ChildProcessError("PostgreSQL's server is not installed (no \(root)/*/bin/initdb); `make test` installs Debian's postgresql")
    }

    /// Runs a server tool as the cluster's owner: `postgres` when the tests run as root.
    func asOwner(_ tool: String, _ arguments: [String]) throws {
        let (status, output) = getuid() == 0 ? try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", tool] + arguments) : try Self.run(tool, arguments)
        guard status == 0 else {
            let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
            throw ChildProcessError("\((tool as NSString).lastPathComponent) failed (\(status)): \(output)\n\(log.suffix(2000))")
        }
    }

    /// Runs a tool to its end (on a thread of its own: it blocks); returns its status and output.
    static func run(_ tool: String, _ arguments: [String]) throws -> (Int32, String) {
        let outputPath = NSTemporaryDirectory() + "portier-pg-output-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let process = try SpawnedProcess.start(tool, arguments, output: outputPath)
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return (process.terminationStatus, text)
    }

    /// Stops the cluster and removes its directory once this process is gone, however it ends. It
    /// runs in a session of its own, so killing the test's process group does not take it along.
    enum Watchdog {
        static func start(directory: String, pgctl: String) {
            let owner = getuid() == 0 ? "/usr/sbin/runuser -u postgres -- " : ""
            let script = """
                while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
                \(owner)\(pgctl) -D '\(directory)/data' -m immediate stop >/dev/null 2>&1
                rm -rf '\(directory)'
                """
            _ = try? SpawnedProcess.start("/usr/bin/setsid", ["/bin/sh", "-c", script], output: "/dev/null")
        }
    }
}
