import Foundation
import Hummingbird
import PortierClients
import PortierHTTP
import PortierTestSupport
import Synchronization
import Testing
import TokenServer
import Tokens

/// How books gets the token it shows payments: as its own client, cached, renewed before it expires, and
/// replaced when payments refuses it.
@Suite struct ServiceTokenProviderTests {
    @Test func booksGetsAPaymentsTokenOnceAndANewOneAfterARefusal() async throws {
        try await AuthFixture.run { auth in
            let provider = ServiceTokenProvider(
                configuration: .init(
                    tokenURL: auth.tokenURL, clientID: "portier-books", secretFile: auth.configuration.booksSecretFile, scope: "payments:write"
                ),
                // A loaded test machine (every suite in parallel, PBKDF2 on a shared thread pool) may take
                // seconds for a first token; the test is about caching, not about speed.
                client: HTTP.client, logger: testLogger("books"), requestTimeout: .seconds(60)
            )
            let first = try await provider.token()
            let claims = try auth.verifier.verify(first, keys: try await auth.verifierKeys()).claims
            #expect(claims.clientID == "portier-books" && claims.scopes == ["payments:write"])

            // Concurrent callers share the cached token instead of each asking the token server.
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 { group.addTask { try await provider.token() } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(tokens == [first])

            provider.invalidate(first)
            let second = try await provider.token()
            #expect(second != first)
            #expect(try auth.verifier.verify(second, keys: try await auth.verifierKeys()).claims.scopes == ["payments:write"])
        }
    }

    @Test func aTokenIsRenewedBeforeItExpires() async throws {
        let issued = Atomic<Int>(0)
        let router = Router()
        router.post("/oauth/token") { _, _ -> Response in
            let number = issued.add(1, ordering: .relaxed).newValue
            let body = #"{"access_token":"token-\#(number)","token_type":"Bearer","expires_in":5}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let signal = PortSignal()
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { await signal.callback($0.localAddress?.port ?? 0) },
            logger: testLogger("fake-auth")
        )
        try await TemporaryDirectory.with("service-token") { dir in
            let secretFile = dir.sub("secret")
            try "s3cret-of-books\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
            try await LiveServer.run(application, port: signal) { port in
                let provider = ServiceTokenProvider(
                    configuration: .init(tokenURL: "http://127.0.0.1:\(port)/oauth/token", clientID: "portier-books", secretFile: secretFile),
                    // CI once took more than the default 5 s for this trivial answer while every suite ran in
                    // parallel; the test is about renewal, not about speed.
                    client: HTTP.client, logger: testLogger("books"), requestTimeout: .seconds(60)
                )
                let first = try await provider.token()
                #expect(first == "token-1")
                // A five-second token is replaced a second before it expires, without anyone refusing it.
                let renewed = try await eventually(timeout: .seconds(30)) {
                    let token: String = try await provider.token()
                    return token == "token-2"
                }
                #expect(renewed)
            }
        }
    }

    @Test func aMissingSecretFileIsReportedAndNothingIsAsked() async throws {
        try await AuthFixture.run { auth in
            let provider = ServiceTokenProvider(
                configuration: .init(tokenURL: auth.tokenURL, clientID: "portier-books", secretFile: auth.directory.sub("nowhere.secret")),
                client: HTTP.client, logger: testLogger("books")
            )
            let error = await #expect(throws: ServiceTokenError.self) { try await provider.token() }
            #expect(error?.description.contains("nowhere.secret") == true)
        }
    }
}
