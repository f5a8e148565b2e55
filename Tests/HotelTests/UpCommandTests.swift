import Foundation
import PortierTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `portier up` as a user runs it, on free ports so it cannot collide with anything.
@Suite(.serialized) struct UpCommandTests {
    static let names = ["auth", "gateway", "rooms", "books", "payments", "notifications", "mypages"]

    func arguments(_ ports: [String: Int], _ dir: TemporaryDirectory) throws -> [String] {
        try FileManager.default.copyItem(atPath: RepositoryFile.path("routes.json"), toPath: dir.sub("routes.json"))
        return ["up", "--data-dir", dir.sub("data"), "--keys-dir", dir.sub("keys"), "--routes", dir.sub("routes.json")]
            + Self.names.flatMap { ["--\($0)-port", String(ports[$0]!)] }
    }

    @Test func startsEverythingRestartsACrashAndStopsCleanly() async throws {
        try await TemporaryDirectory.with("up") { dir in
            var reserved: [String: Int] = [:]
            for name in Self.names { reserved[name] = try FreePort.reserve() }
            let ports = reserved
            let up = try ChildProcess(try arguments(ports, dir))
            _ = try await up.waitForLine(containing: "Portier is up.")
            for name in Self.names {
                #expect(try await HTTP.request(.GET, "http://127.0.0.1:\(ports[name]!)/health/ready").status == 200, "\(name)")
            }
            let secretLine = try #require(up.lines.first { $0.contains("SECRET=") })
            let secret = String(secretLine.split(separator: "=").last!)
            let token = try await HTTP.form(
                "http://127.0.0.1:\(ports["gateway"]!)/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", secret)]
            )
            #expect(token.status == 200, "the printed secret works through the gateway")

            // On these ports and this data directory the gateway's copy of routes.json still finds
            // the token server's issuer and the revocation list's credentials.
            let gateway = "http://127.0.0.1:\(ports["gateway"]!)"
            let access = try #require(token.json["access_token"] as? String)
            #expect(try await HTTP.request(.GET, gateway + "/mypages?guestId=1", headers: [HTTP.bearer(access)]).status == 200)
            let revoked = try await HTTP.form(gateway + "/oauth/revoke", [("token", access)], headers: [HTTP.basic("hotel-client", secret)])
            #expect(revoked.status == 200)
            #expect(try await eventually {
                try await HTTP.request(.GET, gateway + "/mypages?guestId=1", headers: [HTTP.bearer(access)]).status == 401
            }, "the revocation reaches the gateway")

            // A crashed service comes back by itself.
            let pidLine = try #require(up.lines.first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("mypages") })
            let pid = try #require(Int32(pidLine.split(separator: " ", omittingEmptySubsequences: true)[2]))
            kill(pid, SIGKILL)
            _ = try await up.waitForLine(containing: "mypages restarted")
            #expect(try await eventually { try await HTTP.request(.GET, "http://127.0.0.1:\(ports["mypages"]!)/health/ready").status == 200 })

            up.signal(SIGTERM)
            #expect(try await up.waitForExit() == 0)
            _ = try await up.waitForLine(containing: "stopped")
            for name in Self.names {
                await #expect(throws: (any Error).self, "\(name) stopped too") {
                    _ = try await HTTP.request(.GET, "http://127.0.0.1:\(ports[name]!)/health/live", timeout: .seconds(2))
                }
            }
        }
    }

    @Test func busyPortsStopTheStartBeforeAnythingRuns() async throws {
        try await TemporaryDirectory.with("up") { dir in
            var ports: [String: Int] = [:]
            for name in Self.names { ports[name] = try FreePort.reserve() }
            let squatter = try Listener(port: ports["gateway"]!)
            defer { squatter.close() }
            let up = try ChildProcess(try arguments(ports, dir))
            #expect(try await up.waitForExit() == 1)
            #expect(up.lines.contains { $0.contains("port \(ports["gateway"]!) (gateway) is already in use") }, "\(up.lines)")
            #expect(!FileManager.default.fileExists(atPath: dir.sub("data/logs")), "nothing was started")
        }
    }
}

/// A file of this repository, found from the test's own source path.
enum RepositoryFile {
    static func path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../\(name)").standardized.path
    }
}

/// A listening socket that holds a port.
final class Listener {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 1) == 0 else { throw ChildProcessError("cannot hold port \(port)") }
    }

    func close() {
        Glibc.close(fd)
    }
}
