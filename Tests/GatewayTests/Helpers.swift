import Foundation
import Hummingbird
import PortierTestSupport
import TokenServer
#if canImport(Glibc)
import Glibc
#endif

enum TokenServerForTests {
    static func build(_ configuration: TokenServerConfiguration, _ signal: PortSignal) async throws -> (some ApplicationProtocol, String?) {
        let (application, demo) = try await TokenServer.buildApplication(
            configuration: configuration, logger: testLogger("auth"), onServerRunning: signal.callback
        )
        return (application, demo?.secret)
    }

    static func token(port: Int, secret: String) async throws -> String {
        let response = try await HTTP.form(
            "http://127.0.0.1:\(port)/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", secret)]
        )
        guard let token = response.json["access_token"] as? String else { throw HarnessError("no token: \(response.text)") }
        return token
    }
}

/// A loopback port that was free a moment ago (bound to port 0, then released).
enum FreePort {
    static func reserve() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw HarnessError("bind failed") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
