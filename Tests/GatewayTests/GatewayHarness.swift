import Foundation
import Gateway
import PortierTestSupport
import Synchronization
import Testing
import TokenServer
import Tokens

/// A real token server, real upstreams and a real gateway, each on its own loopback port, with
/// routes.json in a temporary directory. Nothing is mocked.
struct GatewayHarness: Sendable {
    struct Ports: Sendable {
        var auth: Int?
        var upstreams: [String: Int]
        var secretFile: String

        func upstream(_ name: String) -> String { "http://127.0.0.1:\(upstreams[name]!)" }

        /// The auth section pointing at the test token server.
        var auth_: [String: Any] {
            [
                "issuer": "http://auth.test", "audience": "hotel-api", "jwks": "http://127.0.0.1:\(auth ?? 1)/.well-known/jwks.json",
                "leewaySeconds": 60,
                "revocations": [
                    "url": "http://127.0.0.1:\(auth ?? 1)/oauth/revocations", "clientId": "portier-gateway", "clientSecretFile": secretFile,
                    "intervalMillis": 200,
                ],
            ]
        }
    }

    let base: String
    /// The admin listener (/metrics, health probes).
    let admin: String
    let ports: Ports
    let upstreams: [String: TestUpstream]
    let directory: TemporaryDirectory
    let routesPath: String
    let demoSecret: String?
    let authConfiguration: TokenServerConfiguration

    static let readWrite: [String: [String]] = ["GET": ["read"], "HEAD": ["read"], "POST": ["write"], "PUT": ["write"], "DELETE": ["write"]]

    /// One protected route `/rooms` to upstream `a`.
    static func defaultRoutes(_ ports: Ports) -> [String: Any] {
        ["auth": ports.auth_, "routes": [["id": "rooms", "path": "/rooms", "upstreams": [ports.upstream("a")], "scopes": readWrite]]]
    }

    static func run<T: Sendable>(
        upstreams names: [String] = ["a"], tokenServer: Bool = true, adminHost: String = "127.0.0.1",
        routes: @escaping @Sendable (Ports) -> [String: Any] = defaultRoutes,
        _ body: @Sendable (GatewayHarness) async throws -> T
    ) async throws -> T {
        try await TemporaryDirectory.with("gateway") { dir in
            let authConfiguration = TokenServerConfiguration(
                host: "127.0.0.1", port: 0, dataDirectory: dir.sub("data"), keysDirectory: dir.sub("keys"), issuer: "http://auth.test",
                keyPollInterval: .milliseconds(100)
            )
            return try await withUpstreams(names[...], [:]) { upstreams, upstreamPorts in
                if tokenServer {
                    try TestKeys.seed(authConfiguration.keysDirectory)
                    let signal = PortSignal()
                    let (application, demo) = try await TokenServer.buildApplication(
                        configuration: authConfiguration, logger: testLogger("auth"), onServerRunning: signal.callback
                    )
                    return try await LiveServer.run(application, port: signal) { authPort in
                        let ports = Ports(auth: authPort, upstreams: upstreamPorts, secretFile: authConfiguration.gatewaySecretFile)
                        return try await withGateway(dir, ports, upstreams, demo?.secret, authConfiguration, adminHost, routes, body)
                    }
                }
                let ports = Ports(auth: nil, upstreams: upstreamPorts, secretFile: authConfiguration.gatewaySecretFile)
                return try await withGateway(dir, ports, upstreams, nil, authConfiguration, adminHost, routes, body)
            }
        }
    }

    private static func withUpstreams<T: Sendable>(
        _ names: ArraySlice<String>, _ started: [String: (TestUpstream, Int)],
        _ body: @Sendable ([String: TestUpstream], [String: Int]) async throws -> T
    ) async throws -> T {
        guard let name = names.first else {
            return try await body(started.mapValues(\.0), started.mapValues(\.1))
        }
        let upstream = TestUpstream(name: name)
        let signal = PortSignal()
        return try await LiveServer.run(upstream.application(onServerRunning: signal.callback), port: signal) { port in
            var started = started
            started[name] = (upstream, port)
            return try await withUpstreams(names.dropFirst(), started, body)
        }
    }

    private static func withGateway<T: Sendable>(
        _ dir: TemporaryDirectory, _ ports: Ports, _ upstreams: [String: TestUpstream], _ demoSecret: String?,
        _ authConfiguration: TokenServerConfiguration, _ adminHost: String, _ routes: @Sendable (Ports) -> [String: Any],
        _ body: @Sendable (GatewayHarness) async throws -> T
    ) async throws -> T {
        let routesPath = dir.sub("routes.json")
        try write(routes(ports), to: routesPath)
        let signal = PortSignal()
        let (adminPorts, adminPort) = AsyncStream.makeStream(of: Int.self)
        let gateway = try Gateway.buildService(
            settings: GatewaySettings(
                host: "127.0.0.1", port: 0, routesPath: routesPath, watchInterval: .milliseconds(100), reloadOnSIGHUP: false, adminHost: adminHost,
                adminPort: 0
            ),
            logger: testLogger("gateway"), onServerRunning: signal.callback, onAdminRunning: { adminPort.yield($0) }
        )
        return try await LiveServer.run(gateway, port: signal) { port in
            var iterator = adminPorts.makeAsyncIterator()
            guard let admin = await iterator.next() else { throw HarnessError("the admin listener did not start") }
            return try await body(
                GatewayHarness(
                    base: "http://127.0.0.1:\(port)", admin: "http://127.0.0.1:\(admin)", ports: ports, upstreams: upstreams, directory: dir,
                    routesPath: routesPath, demoSecret: demoSecret, authConfiguration: authConfiguration
                )
            )
        }
    }

    static func write(_ document: [String: Any], to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(Array(data), to: path)
    }

    // MARK: Tokens

    /// A token from the token server, as a client gets it.
    func token(scope: String? = nil, client: String = "hotel-client", secret: String? = nil) async throws -> String {
        var fields = [("grant_type", "client_credentials")]
        if let scope { fields.append(("scope", scope)) }
        let response = try await HTTP.form(
            "http://127.0.0.1:\(ports.auth!)/oauth/token", fields, headers: [HTTP.basic(client, secret ?? demoSecret!)]
        )
        guard let token = response.json["access_token"] as? String else { throw HarnessError("no token: \(response.text)") }
        return token
    }

    /// The token server's current signing key, to forge tokens with chosen claims.
    func signingKey() throws -> RSAKey {
        guard let key = try KeyStore(directory: authConfiguration.keysDirectory).load().signing?.key else { throw HarnessError("no key") }
        return key
    }

    func claims(
        scope: String = "read write", iss: String = "http://auth.test", aud: [String] = ["hotel-api"], expiresIn: Int64 = 600,
        notBefore: Int64? = nil
    ) -> TokenClaims {
        let now = TokenVerifier.now()
        return TokenClaims(
            iss: iss, sub: "forged", aud: aud, clientID: "forged", scope: scope, iat: now, nbf: notBefore ?? now, exp: now + expiresIn,
            jti: Crypto.randomToken(bytes: 16)
        )
    }

    // MARK: Requests

    func get(_ path: String, token: String? = nil, headers: [(String, String)] = []) async throws -> TestHTTPResponse {
        try await HTTP.request(.GET, base + path, headers: (token.map { [HTTP.bearer($0)] } ?? []) + headers)
    }

    /// The Prometheus text from the admin listener.
    func metrics() async throws -> String {
        try await HTTP.request(.GET, admin + "/metrics").text
    }

    func echo(_ response: TestHTTPResponse) throws -> TestUpstream.Echo {
        try JSONDecoder().decode(TestUpstream.Echo.self, from: Data(response.body))
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Asserts the JSON error shape every gateway refusal has.
func expectJSONError(
    _ response: TestHTTPResponse, status: Int, error: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(response.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
    #expect(response.json["error"] as? String == error, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(response.json["request_id"] as? String == response.header("X-Request-Id"), sourceLocation: sourceLocation)
    #expect(!(response.json["error_description"] as? String ?? "").isEmpty, sourceLocation: sourceLocation)
}
