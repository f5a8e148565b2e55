import EventBus
import Foundation
import Testing
import PortierTestSupport
import TokenServer
import Tokens

/// A real token server on a loopback port with its own data and keys directories, keeping its
/// clients in a SQLite file or in a PostgreSQL database of its own.
struct AuthFixture: Sendable {
    enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }

        /// Runs `body` with a new, empty store (and, for PostgreSQL, its pool running); the URL is
        /// nil for SQLite.
        func withStorage<T: Sendable>(_ dir: TemporaryDirectory, _ body: @Sendable (any AuthStorage, PostgresURL?) async throws -> T) async throws -> T {
            switch self {
            case .sqlite:
                return try await body(try AuthDatabase(dataDirectory: dir.sub("data")), nil)
            case .postgres:
                let url = try PostgresURL(try await PostgresServer.database("auth"))
                return try await PostgresEventLog.with(url: url, logger: testLogger("auth-store"), listens: false) { pool in
                    try await body(PostgresAuthDatabase(pool: pool), url)
                }
            }
        }
    }

    let base: String
    let demoSecret: String
    let directory: TemporaryDirectory
    let configuration: TokenServerConfiguration
    /// The clients as `portier clients` sees them: a store of its own on the server's database.
    let clientStore: ClientStore

    var tokenURL: String { base + "/oauth/token" }
    var keysDirectory: String { configuration.keysDirectory }

    static func run<T: Sendable>(
        engine: Engine = .sqlite, bruteForce: BruteForceGuard.Policy = .init(), _ body: @Sendable (AuthFixture) async throws -> T
    ) async throws -> T {
        try await TemporaryDirectory.with("auth") { dir in try await engine.withStorage(dir) { storage, url in
            var configuration = TokenServerConfiguration(
                host: "127.0.0.1", port: 0, dataDirectory: dir.sub("data"), keysDirectory: dir.sub("keys"),
                issuer: "http://auth.test", bruteForce: bruteForce, keyPollInterval: .milliseconds(100)
            )
            configuration.database = url
            try TestKeys.seed(configuration.keysDirectory)
            let signal = PortSignal()
            let configured = configuration
            let (application, demo) = try await TokenServer.buildApplication(
                configuration: configuration, logger: testLogger("auth"), onServerRunning: signal.callback
            )
            let secret = try #require(demo?.secret)
            return try await LiveServer.run(application, port: signal) { port in
                try await body(
                    AuthFixture(
                        base: "http://127.0.0.1:\(port)", demoSecret: secret, directory: dir, configuration: configured,
                        clientStore: ClientStore(database: storage)
                    )
                )
            }
        } }
    }

    /// A second token server on the same database and directories, as a replica behind the same
    /// load balancer.
    func replica<T: Sendable>(_ body: @Sendable (AuthFixture) async throws -> T) async throws -> T {
        let signal = PortSignal()
        let (application, _) = try await TokenServer.buildApplication(configuration: configuration, logger: testLogger("auth-replica"), onServerRunning: signal.callback)
        return try await LiveServer.run(application, port: signal) { port in
            try await body(
                AuthFixture(base: "http://127.0.0.1:\(port)", demoSecret: demoSecret, directory: directory, configuration: configuration, clientStore: clientStore)
            )
        }
    }

    /// Gets a token for the demo client the way `curl -u id:secret -d grant_type=client_credentials` does.
    func token(scope: String? = nil, client: String = "hotel-client", secret: String? = nil) async throws -> String {
        var fields = [("grant_type", "client_credentials")]
        if let scope { fields.append(("scope", scope)) }
        let response = try await HTTP.form(tokenURL, fields, headers: [HTTP.basic(client, secret ?? demoSecret)])
        guard response.status == 200, let token = response.json["access_token"] as? String else {
            throw FixtureError("token request failed: \(response.status) \(response.text)")
        }
        // Every token a test gets here is also read by libjwt, the implementation independent of the EVP signer.
        let inspection = TokenInspection.inspect(token, keys: try await verifierKeys(), issuer: "http://auth.test", audience: "hotel-api")
        guard inspection.verdict == .valid, inspection.signatureVerified, inspection.claims?.clientID == client else {
            throw FixtureError("libjwt does not accept the issued token: \(inspection.verdict)")
        }
        return token
    }

    /// A verifier built from nothing but the served JWKS, as the gateway builds it.
    func verifierKeys() async throws -> VerificationKeys {
        let response = try await HTTP.request(.GET, base + "/.well-known/jwks.json")
        return VerificationKeys(jwks: try JSONDecoder().decode(JWKSet.self, from: Data(response.body)))
    }

    var verifier: TokenVerifier {
        TokenVerifier(configuration: .init(issuer: "http://auth.test", audience: "hotel-api"))
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
