import Foundation
import PortierTestSupport
import Testing
@testable import TokenServer

/// The state machine, with the clock passed in: no sleeps.
@Suite struct BruteForceGuardTests {
    let policy = BruteForceGuard.Policy(maxFailuresPerClient: 3, maxFailuresPerAddress: 5, window: .seconds(60), lockout: .seconds(30))
    let start = ContinuousClock.now

    @Test func locksAClientIdAfterRepeatedFailuresOnlyForUnknownAddresses() {
        var state = BruteForceGuard(policy: policy)
        state.recordSuccess(clientID: "svc", address: "10.0.0.1", now: start)
        for second in 0..<3 {
            #expect(state.check(clientID: "svc", address: "10.0.0.66", now: start + .seconds(second)) == .allow)
            state.recordFailure(clientID: "svc", address: "10.0.0.66", now: start + .seconds(second))
        }
        #expect(state.check(clientID: "svc", address: "10.0.0.66", now: start + .seconds(3)) == .throttle(retryAfter: 29))
        #expect(state.check(clientID: "svc", address: "10.0.0.1", now: start + .seconds(3)) == .allow, "the real client keeps working")
        #expect(state.check(clientID: "other", address: "10.0.0.66", now: start + .seconds(3)) == .allow)
        #expect(state.check(clientID: "svc", address: "10.0.0.66", now: start + .seconds(32)) == .allow, "the lock ends")
    }

    @Test func locksAnAddressThatFailsForManyClients() {
        var state = BruteForceGuard(policy: policy)
        for index in 0..<5 {
            state.recordFailure(clientID: "guess-\(index)", address: "10.0.0.99", now: start)
        }
        #expect(state.check(clientID: "svc", address: "10.0.0.99", now: start) == .throttle(retryAfter: 30))
        #expect(state.check(clientID: "svc", address: "10.0.0.98", now: start) == .allow)
    }

    @Test func attemptsInFlightCountAgainstTheLimitUntilSettled() throws {
        var state = BruteForceGuard(policy: policy)
        var tickets: [BruteForceGuard.Ticket] = []
        for _ in 0..<3 {
            guard case .granted(let ticket) = state.reserve(clientID: "svc", address: "10.0.0.66", now: start) else {
                Issue.record("the first three attempts may run")
                return
            }
            tickets.append(ticket)
        }
        #expect(
            state.reserve(clientID: "svc", address: "10.0.0.67", now: start) == .throttle(retryAfter: 1), "three guesses are already being checked"
        )
        for ticket in tickets { state.settle(ticket, success: false, now: start + .seconds(1)) }
        #expect(state.reserve(clientID: "svc", address: "10.0.0.67", now: start + .seconds(1)) == .throttle(retryAfter: 30), "they failed: locked")

        var fresh = BruteForceGuard(policy: policy)
        guard case .granted(let ticket) = fresh.reserve(clientID: "svc", address: "10.0.0.1", now: start) else {
            Issue.record("a first attempt may run")
            return
        }
        fresh.settle(ticket, success: true, now: start)
        for _ in 0..<3 { _ = fresh.reserve(clientID: "svc", address: "10.0.0.66", now: start) }
        guard case .granted = fresh.reserve(clientID: "svc", address: "10.0.0.1", now: start) else {
            Issue.record("the real client's known address is not held up by guesses in flight")
            return
        }
    }

    @Test func failuresOutsideTheWindowDoNotCount() {
        var state = BruteForceGuard(policy: policy)
        state.recordFailure(clientID: "svc", address: "a", now: start)
        state.recordFailure(clientID: "svc", address: "b", now: start + .seconds(1))
        state.recordFailure(clientID: "svc", address: "c", now: start + .seconds(61))
        #expect(state.check(clientID: "svc", address: "d", now: start + .seconds(61)) == .allow)
    }
}

/// The same behaviour over real sockets. The attacker's address comes from X-Forwarded-For, which
/// the server believes only because the test connects from loopback, its default trusted proxy.
@Suite struct BruteForceLiveTests {
    static let policy = BruteForceGuard.Policy(maxFailuresPerClient: 3, maxFailuresPerAddress: 6, window: .seconds(60), lockout: .seconds(60))

    func attempt(_ auth: AuthFixture, client: String, secret: String, from address: String?) async throws -> TestHTTPResponse {
        var headers = [HTTP.basic(client, secret)]
        if let address { headers.append(("X-Forwarded-For", address)) }
        return try await HTTP.form(auth.tokenURL, [("grant_type", "client_credentials")], headers: headers)
    }

    @Test func guessingASecretIsThrottledWhileTheRealClientKeepsGettingTokens() async throws {
        try await AuthFixture.run(bruteForce: Self.policy) { auth in
            #expect(try await attempt(auth, client: "hotel-client", secret: auth.demoSecret, from: "10.1.1.1").status == 200)
            for _ in 0..<3 {
                #expect(try await attempt(auth, client: "hotel-client", secret: "guess", from: "10.6.6.6").status == 401)
            }
            let throttled = try await attempt(auth, client: "hotel-client", secret: auth.demoSecret, from: "10.6.6.6")
            #expect(throttled.status == 429, "even the right secret is refused to the attacker while locked")
            #expect(Int(throttled.header("Retry-After") ?? "") ?? 0 >= 1)
            #expect(throttled.json["error"] as? String == "too_many_requests")

            #expect(try await attempt(auth, client: "hotel-client", secret: auth.demoSecret, from: "10.1.1.1").status == 200)
        }
    }

    @Test func anAddressSprayingClientIdsIsThrottled() async throws {
        try await AuthFixture.run(bruteForce: Self.policy) { auth in
            let (_, secret) = try await ClientStoreForTests.open(auth).add(id: "payments-svc", scopes: ["read"])
            for index in 0..<6 {
                #expect(try await attempt(auth, client: "guess-\(index)", secret: "x", from: "10.9.9.9").status == 401)
            }
            #expect(try await attempt(auth, client: "payments-svc", secret: secret, from: "10.9.9.9").status == 429)
            #expect(try await attempt(auth, client: "payments-svc", secret: secret, from: "10.2.2.2").status == 200)
            #expect(try await attempt(auth, client: "hotel-client", secret: auth.demoSecret, from: nil).status == 200)
        }
    }
    /// Requests without any credentials guess nothing. Found by the contract check: they used to
    /// count as failures, so a client sending a dozen of them locked its address out, and with it
    /// books' own token requests from the same host ("payment is busy" for every booking).
    @Test func requestsWithoutCredentialsLockNobodyOut() async throws {
        try await AuthFixture.run(bruteForce: Self.policy) { auth in
            for _ in 0..<10 {
                let anonymous = try await HTTP.form(auth.tokenURL, [("grant_type", "client_credentials")], headers: [("X-Forwarded-For", "10.4.4.4")])
                #expect(anonymous.status == 401)
                #expect(anonymous.json["error"] as? String == "invalid_client")
                #expect(anonymous.header("WWW-Authenticate") == "Basic realm=\"portier\"")
            }
            let real = try await attempt(auth, client: "hotel-client", secret: auth.demoSecret, from: "10.4.4.4")
            #expect(real.status == 200, "\(real.text)")
        }
    }

    /// Right after a start nothing is cached, and a client that opens several connections at once
    /// sends the same secret on all of them. They share one check instead of filling the client's
    /// guard slots with their own attempts (which used to answer most of them 429).
    @Test func aBurstOfTheRightSecretAfterAStartIsNotThrottled() async throws {
        try await AuthFixture.run { auth in
            // 8: the test HTTP client's connections per host, so no request waits for a pooled one.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await HTTP.form(auth.tokenURL, [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", auth.demoSecret)]).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 8))
        }
    }
    /// SQLite reads a bound id only up to a NUL byte: `hotel-client%00x` must not reach the
    /// `hotel-client` row (the guard would count every suffix as a different client).
    @Test func anIdWithANulByteIsAnUnknownClient() async throws {
        try await AuthFixture.run { auth in
            let posted = try await HTTP.form(
                auth.tokenURL, [("grant_type", "client_credentials"), ("client_id", "hotel-client\u{0}x"), ("client_secret", auth.demoSecret)]
            )
            #expect(posted.status == 401 && posted.json["error"] as? String == "invalid_client")
            let basic = "Basic " + Data("hotel-client%00x:\(auth.demoSecret)".utf8).base64EncodedString()
            let viaBasic = try await HTTP.form(auth.tokenURL, [("grant_type", "client_credentials")], headers: [("Authorization", basic)])
            #expect(viaBasic.status == 401 && viaBasic.json["error"] as? String == "invalid_client")
            #expect(try await auth.token().isEmpty == false, "the real client is unaffected")
        }
    }
}

/// Replicas of the token server on one PostgreSQL count each other's failures.
@Suite struct BruteForceReplicaTests {
    func attempt(_ auth: AuthFixture, client: String, secret: String, from address: String) async throws -> Int {
        try await HTTP.form(
            auth.tokenURL, [("grant_type", "client_credentials")], headers: [HTTP.basic(client, secret), ("X-Forwarded-For", address)]
        ).status
    }

    @Test func guessesSpreadOverTwoReplicasAreLockedOutAtBoth() async throws {
        let policy = BruteForceGuard.Policy(maxFailuresPerClient: 100, maxFailuresPerAddress: 4, window: .seconds(60), lockout: .seconds(60))
        try await AuthFixture.run(engine: .postgres, bruteForce: policy) { a in
            try await a.replica { b async throws -> Void in
                for (index, server) in [a, b, a, b].enumerated() {
                    #expect(try await attempt(server, client: "guess-\(index)", secret: "x", from: "10.7.7.7") == 401)
                }
                // Two failures at each replica: below the limit of 4 for either alone, at it together.
                // The right secret from that address is refused once the replicas have exchanged them.
                for server in [a, b] {
                    #expect(try await eventually { try await attempt(server, client: "hotel-client", secret: a.demoSecret, from: "10.7.7.7") == 429 })
                }
                #expect(try await attempt(b, client: "hotel-client", secret: a.demoSecret, from: "10.1.1.1") == 200, "other addresses are not affected")
            }
        }
    }
}
