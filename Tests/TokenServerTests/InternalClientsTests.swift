import Foundation
import Hummingbird
import PortierTestSupport
import Testing
import TokenServer
import Tokens

/// The token server keeps the clients of the other Portier processes: `portier-books` (scope `payments:write`,
/// for creating and voiding payments) and `portier-gateway` (scope `introspect`), each with its secret in a 0600 file.
@Suite struct InternalClientsTests {
    @Test func booksAndGatewayGetTheirOwnClientsWithPrivateSecretFiles() async throws {
        try await AuthFixture.run { auth in
            let configuration = auth.configuration
            #expect(try Self.mode(configuration.booksSecretFile) == 0o600)
            #expect(try Self.mode(configuration.gatewaySecretFile) == 0o600)

            let books = try await auth.token(client: "portier-books", secret: try Self.secret(configuration.booksSecretFile))
            let booksClaims = try auth.verifier.verify(books, keys: try await auth.verifierKeys()).claims
            #expect(booksClaims.clientID == "portier-books" && booksClaims.scopes == ["payments:write"])

            let gateway = try await auth.token(client: "portier-gateway", secret: try Self.secret(configuration.gatewaySecretFile))
            #expect(try auth.verifier.verify(gateway, keys: try await auth.verifierKeys()).claims.scopes == ["introspect"])

            // The demo client keeps read and write, and cannot ask for the internal scope.
            let demo = try auth.verifier.verify(try await auth.token(), keys: try await auth.verifierKeys()).claims
            #expect(Set(demo.scopes) == ["read", "write"])
            let refused = try await HTTP.form(
                auth.tokenURL, [("grant_type", "client_credentials"), ("scope", "payments:write")],
                headers: [HTTP.basic("hotel-client", auth.demoSecret)]
            )
            #expect(refused.status == 400 && refused.json["error"] as? String == "invalid_scope", "\(refused.text)")
        }
    }

    @Test func aMissingSecretFileIsReKeyedAndAStaleClientIsCorrected() async throws {
        try await TemporaryDirectory.with("internal-clients") { dir in
            let configuration = TokenServerConfiguration(
                host: "127.0.0.1", port: 0, dataDirectory: dir.sub("data"), keysDirectory: dir.sub("keys"), issuer: "http://auth.test"
            )
            let (firstBooks, firstGateway) = try await Self.serve(configuration) { _ in
                (try Self.secret(configuration.booksSecretFile), try Self.secret(configuration.gatewaySecretFile))
            }
            // While the token server is down: books' secret file is lost, and someone re-created the gateway's
            // client by hand with the wrong scopes (its secret file now holds a secret that no longer matches).
            try FileManager.default.removeItem(atPath: configuration.booksSecretFile)
            let store = ClientStore(database: try AuthDatabase(dataDirectory: configuration.dataDirectory))
            try await store.remove(id: "portier-gateway")
            _ = try await store.add(id: "portier-gateway", scopes: ["gateway", "read", "write"])

            try await Self.serve(configuration) { base in
                let books = try Self.secret(configuration.booksSecretFile)
                #expect(books != firstBooks)
                #expect(try Self.mode(configuration.booksSecretFile) == 0o600)
                #expect(try await Self.tokenScopes(base, "portier-books", books) == "payments:write")
                let old = try await HTTP.form(
                    base + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic("portier-books", firstBooks)])
                #expect(old.status == 401)

                let gateway = try Self.secret(configuration.gatewaySecretFile)
                #expect(gateway != firstGateway)
                #expect(try await Self.tokenScopes(base, "portier-gateway", gateway) == "introspect")
            }
        }
    }

    /// On a database shared with replicas elsewhere, a replica whose copy of a secret is stale
    /// must not re-key the client: the others' processes use the secret the database has.
    @Test func aReplicaWithAStaleSecretFileOnASharedDatabaseDoesNotReKey() async throws {
        try await AuthFixture.run(engine: .postgres) { auth in
            let configuration = auth.configuration
            let books = try Self.secret(configuration.booksSecretFile)
            let before = try await auth.clientStore.find(id: "portier-books")?.secretHash
            try "a-copy-that-went-stale-somewhere".write(toFile: configuration.booksSecretFile, atomically: true, encoding: .utf8)
            try await auth.replica { replica async throws -> Void in
                #expect(try await auth.clientStore.find(id: "portier-books")?.secretHash == before, "not re-keyed")
                #expect(try Self.secret(configuration.booksSecretFile) == "a-copy-that-went-stale-somewhere", "the file is left as it was")
                #expect(try await Self.tokenScopes(replica.base, "portier-books", books) == "payments:write", "the secret in use still works")
            }
        }
    }

    /// Runs the token server until `body` returns.
    static func serve<T: Sendable>(_ configuration: TokenServerConfiguration, _ body: @Sendable (String) async throws -> T) async throws -> T {
        try TestKeys.seed(configuration.keysDirectory)
        let signal = PortSignal()
        let (application, _) = try await TokenServer.buildApplication(
            configuration: configuration, logger: testLogger("auth"), onServerRunning: signal.callback)
        return try await LiveServer.run(application, port: signal) { port in try await body("http://127.0.0.1:\(port)") }
    }

    static func tokenScopes(_ base: String, _ client: String, _ secret: String) async throws -> String? {
        let response = try await HTTP.form(base + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic(client, secret)])
        #expect(response.status == 200, "\(response.text)")
        return response.json["scope"] as? String
    }

    static func secret(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func mode(_ path: String) throws -> Int {
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        return mode & 0o777
    }
}
