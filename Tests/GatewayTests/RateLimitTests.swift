import Foundation
import PortierTestSupport
import Testing

@Suite struct RateLimitTests {
    /// Three requests at once, then one every ten seconds: a fourth quick request must be refused.
    static func routes(_ ports: GatewayHarness.Ports) -> [String: Any] {
        [
            "auth": ports.auth_,
            "routes": [
                [
                    "id": "rooms", "path": "/rooms", "upstreams": [ports.upstream("a")], "scopes": GatewayHarness.readWrite,
                    "rateLimit": ["perSecond": 0.1, "burst": 3, "key": "client"],
                ],
                [
                    "id": "open", "path": "/open", "upstreams": [ports.upstream("a")], "public": true,
                    "rateLimit": ["perSecond": 0.1, "burst": 2, "key": "ip"],
                ],
            ],
        ]
    }

    @Test func the429CarriesRetryAfterAndRateLimitHeaders() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let token = try await gw.token()
            for remaining in [2, 1, 0] {
                let response = try await gw.get("/rooms", token: token)
                #expect(response.status == 200)
                #expect(response.header("RateLimit-Limit") == "3")
                #expect(response.header("RateLimit-Remaining") == String(remaining))
                #expect(Int(response.header("RateLimit-Reset") ?? "") ?? 0 >= 1)
            }
            let refused = try await gw.get("/rooms", token: token)
            expectJSONError(refused, status: 429, error: "rate_limited")
            let retryAfter = try #require(Int(refused.header("Retry-After") ?? ""))
            #expect((1...10).contains(retryAfter), "one token comes back within 10 s at 0.1/s")
            #expect(refused.header("RateLimit-Remaining") == "0")
            #expect(refused.header("RateLimit-Limit") == "3")
        }
    }

    @Test func oneClientsFloodDoesNotLimitAnother() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let flooder = try await gw.token()
            for _ in 0..<5 { _ = try await gw.get("/rooms", token: flooder) }
            #expect(try await gw.get("/rooms", token: flooder).status == 429)

            let (_, secret) = try await ClientStoreAccess.open(gw).add(id: "quiet-client", scopes: ["read"])
            let quiet = try await gw.token(client: "quiet-client", secret: secret)
            let response = try await gw.get("/rooms", token: quiet)
            #expect(response.status == 200)
            #expect(response.header("RateLimit-Remaining") == "2")
        }
    }

    @Test func publicRoutesAreLimitedByAddress() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            #expect(try await gw.get("/open").status == 200)
            #expect(try await gw.get("/open").status == 200)
            #expect(try await gw.get("/open").status == 429)
            let metrics = try await gw.metrics()
            #expect(metrics.contains(#"portier_gateway_rate_limited_total{route="open"} 1"#))
        }
    }
}
