import Foundation
import PortierTestSupport
import Testing

@Suite struct CircuitBreakerTests {
    static func routes(_ ports: GatewayHarness.Ports) -> [String: Any] {
        [
            "routes": [
                [
                    "id": "pay", "path": "/fail", "upstreams": [ports.upstream("a")], "public": true,
                    "circuitBreaker": ["failureRatePercent": 50, "minimumCalls": 4, "windowSeconds": 60, "openSeconds": 2, "halfOpenCalls": 2],
                ],
                [
                    "id": "slow", "path": "/slow", "upstreams": [ports.upstream("a")], "public": true, "timeoutMillis": 5000,
                    "circuitBreaker": ["slowCallMillis": 100, "slowCallRatePercent": 100, "minimumCalls": 2, "windowSeconds": 60, "openSeconds": 30],
                ],
            ]
        ]
    }

    @Test func opensOnFailuresAnswersFastThenRecoversThroughHalfOpen() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let upstream = gw.upstreams["a"]!
            upstream.failing.store(true, ordering: .relaxed)
            let hitsBefore = upstream.hits.load(ordering: .relaxed)
            var lastFailureSent = ContinuousClock.now
            for _ in 0..<4 {
                lastFailureSent = ContinuousClock.now
                #expect(try await gw.get("/fail").status == 500, "failures pass through until the breaker opens")
            }
            #expect(upstream.hits.load(ordering: .relaxed) == hitsBefore + 4)
            try await Self.expectOpen(gw, upstream: upstream, since: lastFailureSent)

            // Once the open period is over, a trial call goes through (every answer before it is a
            // fast 503 that never reaches the upstream); it fails, so the breaker reopens.
            let hitsBeforeTrial = upstream.hits.load(ordering: .relaxed)
            let trial = try await Self.untilATrialGoesThrough(gw)
            #expect(trial.status == 500)
            #expect(upstream.hits.load(ordering: .relaxed) == hitsBeforeTrial + 1, "exactly one trial reached the upstream")
            try await Self.expectOpen(gw, upstream: upstream, since: trial.sent)

            // Healthy again: trial calls succeed and close the breaker.
            upstream.failing.store(false, ordering: .relaxed)
            #expect(try await Self.untilATrialGoesThrough(gw).status == 200)
            #expect(try await gw.get("/fail").status == 200)
            #expect(try await gw.metrics().contains(#"portier_gateway_circuit_breaker_state{route="pay"} 0"#))
            for _ in 0..<5 { #expect(try await gw.get("/fail").status == 200, "closed again") }
        }
    }

    /// Polls while the breaker answers 503 itself; returns the first call it lets through, with the
    /// instant that call was sent (the breaker decided on it no earlier than that).
    static func untilATrialGoesThrough(_ gw: GatewayHarness) async throws -> (status: Int, sent: ContinuousClock.Instant) {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let sent = ContinuousClock.now
            let response = try await gw.get("/fail")
            guard response.status == 503, response.json["error"] as? String == "service_unavailable" else {
                return (response.status, sent)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("the breaker stayed open")
    }

    static let openPeriod = Duration.seconds(2)

    /// The breaker opened on a failed call sent at `since`, so for `openPeriod` after that instant a
    /// call must be a fast 503 that never reaches the upstream, with a Retry-After of at most the open
    /// period, and the metric must say open. A busy machine may send the next call later than that;
    /// then it is a trial (which fails, the upstream still failing, and reopens the breaker), and the
    /// check repeats from that call. Only what is decided inside the window is asserted.
    static func expectOpen(_ gw: GatewayHarness, upstream: TestUpstream, since: ContinuousClock.Instant) async throws {
        var opened = since
        for _ in 0..<20 {
            let sent = ContinuousClock.now
            let hitsBefore = upstream.hits.load(ordering: .relaxed)
            let response = try await gw.get("/fail")
            if response.status == 503 {
                expectJSONError(response, status: 503, error: "service_unavailable")
                #expect((1...2).contains(Int(response.header("Retry-After") ?? "") ?? 0))
                #expect(upstream.hits.load(ordering: .relaxed) == hitsBefore, "an open breaker answers at once, without calling the upstream")
                let metrics = try await gw.metrics()
                if ContinuousClock.now < opened + openPeriod {
                    #expect(metrics.contains(#"portier_gateway_circuit_breaker_state{route="pay"} 2"#))
                }
                return
            }
            guard ContinuousClock.now >= opened + openPeriod else {
                Issue.record("a call \(ContinuousClock.now - opened) after the breaker opened went through to the upstream")
                return
            }
            opened = sent
        }
        throw HarnessError("no call landed inside an open period; the machine is too busy to tell")
    }

    @Test func slowCallsOpenTheBreakerToo() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            #expect(try await gw.get("/slow?ms=300").status == 200)
            #expect(try await gw.get("/slow?ms=300").status == 200)
            let response = try await gw.get("/slow?ms=300")
            expectJSONError(response, status: 503, error: "service_unavailable")
            #expect(Int(response.header("Retry-After") ?? "") ?? 0 > 1)
        }
    }
}
