import Foundation
import PortierTestSupport
import Testing

@Suite struct CircuitBreakerTests {
    static func routes(_ ports: GatewayHarness.Ports) -> [String: Any] {
        [
            "routes": [
                [
                    "id": "pay", "path": "/fail", "upstreams": [ports.upstream("a")], "public": true,
                    "circuitBreaker": ["failureRatePercent": 50, "minimumCalls": 4, "windowSeconds": 60, "openSeconds": 1, "halfOpenCalls": 2],
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
            for _ in 0..<4 {
                #expect(try await gw.get("/fail").status == 500, "failures pass through until the breaker opens")
            }
            let hitsWhenOpened = upstream.hits.load(ordering: .relaxed)

            let open = try await gw.get("/fail")
            expectJSONError(open, status: 503, error: "service_unavailable")
            #expect(open.header("Retry-After") == "1")
            #expect(upstream.hits.load(ordering: .relaxed) == hitsWhenOpened, "an open breaker answers at once, without calling the upstream")
            #expect(try await gw.metrics().contains(#"portier_gateway_circuit_breaker_state{route="pay"} 2"#))

            // Once the open period is over, a trial call goes through (every answer before it is a
            // fast 503 that never reaches the upstream); it fails, so the breaker reopens.
            #expect(try await Self.untilATrialGoesThrough(gw) == 500)
            #expect(upstream.hits.load(ordering: .relaxed) == hitsWhenOpened + 1, "exactly one trial reached the upstream")
            #expect(try await gw.get("/fail").status == 503, "a failed trial reopens the breaker")

            // Healthy again: trial calls succeed and close the breaker.
            upstream.failing.store(false, ordering: .relaxed)
            #expect(try await Self.untilATrialGoesThrough(gw) == 200)
            #expect(try await gw.get("/fail").status == 200)
            #expect(try await gw.metrics().contains(#"portier_gateway_circuit_breaker_state{route="pay"} 0"#))
            for _ in 0..<5 { #expect(try await gw.get("/fail").status == 200, "closed again") }
        }
    }

    /// Polls while the breaker answers 503 itself; returns the status of the first call it lets through.
    static func untilATrialGoesThrough(_ gw: GatewayHarness) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let response = try await gw.get("/fail")
            guard response.status == 503, response.json["error"] as? String == "service_unavailable" else { return response.status }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("the breaker stayed open")
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
