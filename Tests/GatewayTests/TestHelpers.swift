import Foundation
import Hummingbird
import PortierTestSupport
import TokenServer
#if canImport(Glibc)
import Glibc
#endif

enum TokenServerForTests {
    static func build(_ configuration: TokenServerConfiguration, _ signal: PortSignal) async throws -> (some ApplicationProtocol, String?) {
        try TestKeys.seed(configuration.keysDirectory)
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
