import Foundation
import PortierTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `portier up` as a user runs it, every process on port 0 (the kernel picks; `portier up` reads the
/// ports back from the children's logs and prints them), so it cannot collide with anything.
@Suite(.serialized) struct UpCommandTests {
    @Test func startsEverythingRestartsACrashAndStopsCleanly() async throws {
        try await TemporaryDirectory.with("up") { dir in
            let up = try await UpSession.start(in: dir)
            for name in UpSession.names {
                #expect(try await HTTP.request(.GET, "http://127.0.0.1:\(up.ports[name] ?? 0)/health/ready").status == 200, "\(name)")
            }
            let secret = try #require(up.printedSecret, "the first start shows the demo secret: \(up.process.lines)")
            let token = try await HTTP.form(
                up.gateway + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", secret)])
            #expect(token.status == 200, "the printed secret works through the gateway")

            // On these ports and this data directory the gateway's copy of routes.json still finds
            // the token server's issuer and the revocation list's credentials.
            let access = try #require(token.json["access_token"] as? String)
            #expect(try await HTTP.request(.GET, up.gateway + "/mypages?guestId=1", headers: [HTTP.bearer(access)]).status == 200)
            let revoked = try await HTTP.form(up.gateway + "/oauth/revoke", [("token", access)], headers: [HTTP.basic("hotel-client", secret)])
            #expect(revoked.status == 200)
            #expect(
                try await eventually {
                    try await HTTP.request(.GET, up.gateway + "/mypages?guestId=1", headers: [HTTP.bearer(access)]).status == 401
                }, "the revocation reaches the gateway")

            // A crashed service comes back by itself, on the port it had (the others know only that one).
            let pid = try #require(up.pids["mypages"])
            try #require(pid > 1, "never kill(0) or kill(1): that would be this process group or init")
            kill(pid, SIGKILL)
            _ = try await up.process.waitForLine(containing: "mypages restarted")
            #expect(try await eventually { try await HTTP.request(.GET, "http://127.0.0.1:\(up.ports["mypages"] ?? 0)/health/ready").status == 200 })

            up.process.signal(SIGTERM)
            #expect(try await up.process.waitForExit() == 0)
            _ = try await up.process.waitForLine(containing: "portier up: stopped")
            for name in UpSession.names {
                await #expect(throws: (any Error).self, "\(name) stopped too") {
                    _ = try await HTTP.request(.GET, "http://127.0.0.1:\(up.ports[name] ?? 0)/health/live", timeout: .seconds(2))
                }
            }
        }
    }

    @Test func busyPortsStopTheStartBeforeAnythingRuns() async throws {
        try await TemporaryDirectory.with("up") { dir in
            let squatter = try Listener(port: 0)
            defer { squatter.close() }
            let up = try ChildProcess(try UpSession.arguments(in: dir, ports: ["gateway": squatter.port]))
            #expect(try await up.waitForExit() == 1)
            #expect(up.lines.contains { $0.contains("port \(squatter.port) (gateway) is already in use") }, "\(up.lines)")
            #expect(!FileManager.default.fileExists(atPath: dir.sub("data/logs")), "nothing was started")
        }
    }
}

/// One `portier up` run in a temporary directory, with the ports and pids its banner printed.
struct UpSession {
    static let names = ["auth", "gateway", "rooms", "books", "payments", "notifications", "mypages"]

    let process: ChildProcess
    let ports: [String: Int]
    /// Each process's admin listener port, from the banner's ADMIN column.
    let adminPorts: [String: Int]
    let pids: [String: Int32]
    /// The `SECRET=...` line's value when it is a literal secret (first start), else nil.
    let printedSecret: String?

    var gateway: String { "http://127.0.0.1:\(ports["gateway"] ?? 0)" }

    /// Arguments for `portier up` on `dir`: every port 0 unless given.
    static func arguments(in dir: TemporaryDirectory, ports: [String: Int] = [:], extra: [String] = []) throws -> [String] {
        if !FileManager.default.fileExists(atPath: dir.sub("routes.json")) {
            try FileManager.default.copyItem(atPath: RepositoryFile.path("routes.json"), toPath: dir.sub("routes.json"))
        }
        return ["up", "--data-dir", dir.sub("data"), "--keys-dir", dir.sub("keys"), "--routes", dir.sub("routes.json")]
            + names.flatMap { ["--\($0)-port", String(ports[$0] ?? 0), "--\($0)-admin-port", String(ports["\($0)-admin"] ?? 0)] } + extra
    }

    /// Starts `portier up` and waits for its banner.
    static func start(in dir: TemporaryDirectory, extra: [String] = []) async throws -> UpSession {
        let process = try ChildProcess(try arguments(in: dir, extra: extra))
        _ = try await process.waitForLine(containing: "Ctrl-C stops everything.", timeout: .seconds(180))
        var ports: [String: Int] = [:]
        var adminPorts: [String: Int] = [:]
        var pids: [String: Int32] = [:]
        // SERVICE  PORT  ADMIN  PID  STATUS
        for line in process.lines {
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            guard columns.count == 5, columns[4] == "ready", names.contains(String(columns[0])),
                let port = Int(columns[1]), let admin = Int(columns[2]), let pid = Int32(columns[3])
            else { continue }
            ports[String(columns[0])] = port
            adminPorts[String(columns[0])] = admin
            pids[String(columns[0])] = pid
        }
        guard ports.count == names.count, ports.values.allSatisfy({ $0 > 0 }) else {
            throw ChildProcessError("the banner lists no port for some process: \(process.lines)")
        }
        let secretLine = process.lines.first { $0.contains("SECRET=") && !$0.contains("$(") && !$0.contains("...") }
        let printedSecret = secretLine.flatMap { $0.split(separator: "=", maxSplits: 1).last.map(String.init) }
        return UpSession(process: process, ports: ports, adminPorts: adminPorts, pids: pids, printedSecret: printedSecret)
    }
}

/// A file of this repository, found from the test's own source path.
enum RepositoryFile {
    static func path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../\(name)").standardized.path
    }
}

/// A listening socket that holds a port (0: any free one, read back into `port`).
final class Listener {
    let fd: Int32
    let port: Int

    init(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 1) == 0 else { throw ChildProcessError("cannot hold port \(port)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { throw ChildProcessError("cannot read the port back") }
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        Glibc.close(fd)
    }
}
