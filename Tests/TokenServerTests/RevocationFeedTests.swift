import AsyncHTTPClient
import Foundation
import PortierTestSupport
import Testing
import Tokens
@testable import TokenServer

/// Who may read what others' tokens look like, and the incremental revocation feed gateways poll.
@Suite struct RevocationFeedTests {
    /// A client allowed to introspect and read the feed, as a gateway is.
    static func introspector(_ auth: AuthFixture) async throws -> (String, String) {
        let (client, secret) = try await ClientStoreForTests.open(auth).add(id: "feed-reader", scopes: [OAuthClient.introspectScope])
        return (client.id, secret)
    }

    func feed(_ auth: AuthFixture, _ credentials: (String, String), since: Int64? = nil) async throws -> TestHTTPResponse {
        let query = since.map { "?since=\($0)" } ?? ""
        return try await HTTP.request(.GET, auth.base + "/oauth/revocations" + query, headers: [HTTP.basic(credentials.0, credentials.1)])
    }

    func introspect(_ auth: AuthFixture, _ token: String, as credentials: (String, String)) async throws -> TestHTTPResponse {
        try await HTTP.form(auth.base + "/oauth/introspect", [("token", token)], headers: [HTTP.basic(credentials.0, credentials.1)])
    }

    func jtis(_ response: TestHTTPResponse) -> [String] {
        (response.json["revocations"] as? [[String: Any]] ?? []).compactMap { $0["jti"] as? String }
    }

    func cutoffs(_ response: TestHTTPResponse) -> [String] {
        (response.json["clients"] as? [[String: Any]] ?? []).compactMap { $0["client_id"] as? String }
    }

    func cursor(_ response: TestHTTPResponse) throws -> Int64 {
        try #require((response.json["cursor"] as? NSNumber)?.int64Value, "body: \(response.text)")
    }

    @Test(arguments: AuthFixture.Engine.allCases) func introspectionAndTheFeedNeedTheIntrospectScope(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let token = try await auth.token()
            let demo = ("hotel-client", auth.demoSecret)
            for response in [try await introspect(auth, token, as: demo), try await feed(auth, demo)] {
                #expect(response.status == 403, "body: \(response.text)")
                #expect(response.json["error"] as? String == "insufficient_scope")
                #expect((response.json["error_description"] as? String)?.contains("introspect") == true)
                #expect(response.header("Cache-Control") == "no-store")
            }
            let reader = try await Self.introspector(auth)
            #expect(try await introspect(auth, token, as: reader).json["active"] as? Bool == true)
            #expect(try await feed(auth, reader).status == 200)
        }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func sinceACursorOnlyNewerChangesComeBack(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let reader = try await Self.introspector(auth)
            let demo = ("hotel-client", auth.demoSecret)
            let first = try await auth.token()
            _ = try await HTTP.form(auth.base + "/oauth/revoke", [("token", first)], headers: [HTTP.basic(demo.0, demo.1)])

            let full = try await feed(auth, reader)
            #expect(full.status == 200)
            #expect(full.json["reset"] as? Bool == true, "no cursor: the whole state, to replace what the reader has")
            #expect(jtis(full) == [try TokenVerifierForTests.claims(of: first).jti])
            let start = try cursor(full)

            let unchanged = try await feed(auth, reader, since: start)
            #expect(unchanged.json["reset"] as? Bool == false)
            #expect(jtis(unchanged).isEmpty && cutoffs(unchanged).isEmpty)
            #expect(try cursor(unchanged) == start)

            let second = try await auth.token()
            _ = try await HTTP.form(auth.base + "/oauth/revoke", [("token", second)], headers: [HTTP.basic(demo.0, demo.1)])
            let (victim, _) = try await ClientStoreForTests.open(auth).add(id: "victim", scopes: ["read"])
            _ = try await ClientStoreForTests.open(auth).rotateSecret(id: victim.id)

            let delta = try await feed(auth, reader, since: start)
            #expect(delta.json["reset"] as? Bool == false)
            #expect(jtis(delta) == [try TokenVerifierForTests.claims(of: second).jti], "only the change after the cursor")
            #expect(cutoffs(delta) == ["victim"])
            let next = try cursor(delta)
            #expect(next > start)
            let entry = try #require((delta.json["clients"] as? [[String: Any]])?.first)
            #expect(entry["not_before"] is Int && entry["exp"] is Int)

            let empty = try await feed(auth, reader, since: next)
            #expect(jtis(empty).isEmpty && cutoffs(empty).isEmpty)

            let ahead = try await feed(auth, reader, since: next + 1000)
            #expect(ahead.json["reset"] as? Bool == true, "a cursor the server never gave (a replaced database) forces a resync")
            #expect(jtis(ahead).count == 2)

            let bad = try await HTTP.request(.GET, auth.base + "/oauth/revocations?since=-1", headers: [HTTP.basic(reader.0, reader.1)])
            #expect(bad.status == 400 && bad.json["error"] as? String == "invalid_request")
        }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func removingOrRotatingAClientKillsItsLiveTokensAtIntrospection(engine: AuthFixture.Engine) async throws {
        try await AuthFixture.run(engine: engine) { auth in
            let reader = try await Self.introspector(auth)
            let store = try ClientStoreForTests.open(auth)
            let (_, goneSecret) = try await store.add(id: "gone", scopes: ["read"])
            let (_, rotatedSecret) = try await store.add(id: "rotated", scopes: ["read"])
            let goneToken = try await auth.token(client: "gone", secret: goneSecret)
            let rotatedToken = try await auth.token(client: "rotated", secret: rotatedSecret)
            let bystander = try await auth.token()
            #expect(try await introspect(auth, goneToken, as: reader).json["active"] as? Bool == true)
            #expect(try await introspect(auth, rotatedToken, as: reader).json["active"] as? Bool == true)

            try await store.remove(id: "gone")
            let newSecret = try await store.rotateSecret(id: "rotated")

            #expect(try await introspect(auth, goneToken, as: reader).text == "{\"active\":false}")
            #expect(try await introspect(auth, rotatedToken, as: reader).text == "{\"active\":false}")
            #expect(try await introspect(auth, bystander, as: reader).json["active"] as? Bool == true, "other clients are untouched")
            // Issued right after the rotation (often in the same second): it must be born alive.
            let fresh = try await auth.token(client: "rotated", secret: newSecret)
            #expect(try await introspect(auth, fresh, as: reader).json["active"] as? Bool == true)
        }
    }

    @Test func fiftyConcurrentWrongSecretsReachTheSlowHashAtMostThresholdTimes() async throws {
        let policy = BruteForceGuard.Policy(maxFailuresPerClient: 5, maxFailuresPerAddress: 1000, window: .seconds(60), lockout: .seconds(60))
        try await AuthFixture.run(bruteForce: policy) { auth in
            _ = try await ClientStoreForTests.open(auth).add(id: "target", scopes: ["read"])
            // Enough connections that the 50 attempts really are concurrent at the server.
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(10), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let statuses: [Int]
            do {
                statuses = try await Self.attempts(client, auth)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            // Every 401 is one PBKDF2 run on a wrong secret (the client has no cached verification).
            let checked = statuses.filter { $0 == 401 }.count
            let throttled = statuses.filter { $0 == 429 }.count
            #expect(checked + throttled == 50, "\(statuses)")
            #expect(checked <= 5, "only as many guesses as the threshold may be checked: \(checked)")
            #expect(throttled >= 45)
        }
    }

    static func attempts(_ client: HTTPClient, _ auth: AuthFixture) async throws -> [Int] {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        var request = HTTPClientRequest(url: auth.tokenURL)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                        request.headers.add(name: "Authorization", value: HTTP.basic("target", "wrong-secret-\(index)").1)
                        request.body = .bytes(Array("grant_type=client_credentials".utf8))
                        let response = try await client.execute(request, timeout: .seconds(60))
                        _ = try await response.body.collect(upTo: 1 << 16)
                        return Int(response.status.code)
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
    }
}

/// The change log itself, on a real SQLite file and a real PostgreSQL, with time passed in.
@Suite struct RevocationStoreTests {
    @Test(arguments: AuthFixture.Engine.allCases) func revocationsOutliveTheirTokensByTheRetentionMargin(engine: AuthFixture.Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withStorage(dir) { database, _ in
            let store = RevocationStore(database: database, retentionSeconds: 600)
            let now: Int64 = 1_000_000
            try await store.revoke(jti: "recent", clientID: "c", expiresAt: now - 100)
            try await store.revoke(jti: "ancient", clientID: "c", expiresAt: now - 700)
            let before = try await store.changes(since: nil, now: now)
            #expect(before.revocations.map(\.jti) == ["recent"], "expired 100 s ago is still inside any gateway's leeway")
            #expect(try await store.isRevoked(jti: "recent"))

            let behind = before.cursor - 2
            #expect(try await store.changes(since: behind, now: now).reset == false)
            #expect(try await store.purgeExpired(now: now) == 1)
            #expect(try await store.isRevoked(jti: "recent"))
            #expect(!(try await store.isRevoked(jti: "ancient")))
            #expect(try await store.changes(since: behind, now: now).reset == true, "a reader behind what was pruned must resync")
            #expect(try await store.changes(since: before.cursor, now: now).reset == false)
            #expect(try await store.changes(since: before.cursor + 1, now: now).reset == true, "a cursor ahead of the log (another database) resyncs")
        } }
    }

    @Test(arguments: AuthFixture.Engine.allCases) func aClientCutoffKillsOnlyTokensIssuedUpToIt(engine: AuthFixture.Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withStorage(dir) { database, _ in
            let clients = ClientStore(database: database)
            let store = RevocationStore(database: database)
            _ = try await clients.add(id: "svc", scopes: ["read"])
            let cut = Int64(Date().timeIntervalSince1970)
            _ = try await clients.rotateSecret(id: "svc")
            // The cut-off is the second of the rotation, somewhere between these two readings (the
            // rotation hashes a secret, which a busy machine may take a while over).
            let after = Int64(Date().timeIntervalSince1970)
            #expect(try await store.isDead(jti: "a", clientID: "svc", iat: cut - 10))
            #expect(try await store.isDead(jti: "a", clientID: "svc", iat: nil))
            #expect(!(try await store.isDead(jti: "a", clientID: "svc", iat: after + 1)))
            #expect(!(try await store.isDead(jti: "a", clientID: "other", iat: cut - 10)))
            let notBefore = try await clients.find(id: "svc")?.notBefore ?? 0
            #expect((cut...after).contains(notBefore))
        } }
    }
}
