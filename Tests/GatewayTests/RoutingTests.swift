import Foundation
import PortierTestSupport
import Testing

@Suite struct RoutingTests {
    static func routes(_ ports: GatewayHarness.Ports) -> [String: Any] {
        [
            "auth": ports.auth_,
            "routes": [
                ["id": "rooms", "path": "/rooms", "upstreams": [ports.upstream("a")], "scopes": GatewayHarness.readWrite],
                ["id": "rooms-special", "path": "/rooms/special", "upstreams": [ports.upstream("b")], "public": true],
                ["id": "books", "path": "/books", "methods": ["GET", "POST"], "upstreams": [ports.upstream("a")], "public": true],
                ["id": "v1", "path": "/api/v1", "upstreams": [ports.upstream("b") + "/internal"], "rewrite": "/v2", "public": true],
                ["id": "stripped", "path": "/strip", "upstreams": [ports.upstream("b")], "stripPrefix": true, "public": true],
            ],
        ]
    }

    @Test func longestPrefixOnWholeSegments() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            let token = try await gw.token()
            let rooms = try await gw.get("/rooms/7", token: token)
            #expect(rooms.status == 200)
            #expect(try gw.echo(rooms).instance == "a" && gw.echo(rooms).path == "/rooms/7")
            let exact = try await gw.get("/rooms", token: token)
            #expect(try gw.echo(exact).path == "/rooms")
            let special = try await gw.get("/rooms/special/1")
            #expect(try gw.echo(special).instance == "b", "the longer prefix wins")
            let lookalike = try await gw.get("/roomsX", token: token)
            expectJSONError(lookalike, status: 404, error: "not_found")
        }
    }

    @Test func unknownPathAndWrongMethodAreJSON() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            expectJSONError(try await gw.get("/nowhere"), status: 404, error: "not_found")
            let delete = try await HTTP.request(.DELETE, gw.base + "/books/1")
            expectJSONError(delete, status: 405, error: "method_not_allowed")
            #expect(delete.header("Allow") == "GET, POST")
        }
    }

    @Test func queryStringsAndBodiesPassUntouched() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            let body = #"{"roomId": 7, "note": "ünïcode & spaces"}"#
            let response = try await HTTP.request(
                .POST, gw.base + "/books/search?q=sea%20view&tags=a&tags=b&empty=", headers: [("Content-Type", "application/json")],
                body: Array(body.utf8)
            )
            let echo = try gw.echo(response)
            #expect(echo.method == "POST")
            #expect(echo.query == "q=sea%20view&tags=a&tags=b&empty=")
            #expect(echo.body == body)
            #expect(echo.headers["content-type"] == "application/json")
        }
    }

    @Test func prefixRewriteAndStrip() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            let rewritten = try gw.echo(try await gw.get("/api/v1/rooms/3?x=1"))
            let stripped = try gw.echo(try await gw.get("/strip/inner"))
            let root = try gw.echo(try await gw.get("/strip"))
            #expect(rewritten.path == "/internal/v2/rooms/3" && rewritten.query == "x=1")
            #expect(stripped.path == "/inner")
            #expect(root.path == "/")
        }
    }

    @Test func dotSegmentsAreRefused() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            // curl --path-as-is sends these unchanged; so does this client.
            expectJSONError(try await gw.get("/books/../rooms"), status: 400, error: "invalid_request")
            expectJSONError(try await gw.get("/books/%2e%2e/rooms"), status: 400, error: "invalid_request")
        }
    }

    @Test func forwardedHeadersAreSetAndSpoofsReplaced() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            let token = try await gw.token(scope: "read")
            let response = try await gw.get(
                "/rooms/1", token: token,
                headers: [
                    ("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Host", "evil.test"), ("X-Forwarded-Proto", "https"),
                    ("X-Client-Id", "admin"), ("X-Client-Scopes", "read write admin"), ("Forwarded", "for=6.6.6.6"),
                ]
            )
            let headers = try gw.echo(response).headers
            #expect(headers["x-forwarded-for"] == "127.0.0.1")
            #expect(headers["x-forwarded-proto"] == "http")
            #expect(headers["x-forwarded-host"] == gw.base.replacingOccurrences(of: "http://", with: ""))
            #expect(headers["forwarded"] == nil)
            #expect(headers["x-client-id"] == "hotel-client")
            #expect(headers["x-client-scopes"] == "read")
            #expect(headers["x-client-authorities"] == "ROLE_CLIENT")
            #expect(headers["authorization"] == nil, "a verified token is not passed on by default")
            let requestID = try #require(response.header("X-Request-Id"))
            #expect(headers["x-request-id"] == requestID)
        }
    }

    @Test func aClientRequestIDIsKept() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            let response = try await gw.get("/books", headers: [("X-Request-Id", "trace-42")])
            #expect(response.header("X-Request-Id") == "trace-42")
            #expect(try gw.echo(response).headers["x-request-id"] == "trace-42")
        }
    }

    @Test func publicRoutesPassAuthorizationUnchanged() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            let response = try await gw.get("/books", headers: [("Authorization", "Basic dXNlcjpwYXNz")])
            #expect(try gw.echo(response).headers["authorization"] == "Basic dXNlcjpwYXNz")
            #expect(try gw.echo(response).headers["x-client-id"] == nil)
        }
    }

    @Test func metricsAreInPrometheusFormatOnTheAdminListenerOnly() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            _ = try await gw.get("/books")
            _ = try await gw.get("/nowhere")
            let metrics = try await HTTP.request(.GET, gw.admin + "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = metrics.text
            #expect(text.contains(#"portier_gateway_requests_total{route="books",method="GET",status="200"} 1"#))
            #expect(text.contains(#"portier_gateway_requests_total{route="none",method="GET",status="404"} 1"#))
            #expect(text.contains(#"portier_gateway_request_duration_seconds_bucket{route="books",le="+Inf"} 1"#))
            #expect(text.contains(#"portier_gateway_circuit_breaker_state{route="books"} 0"#))
            #expect(text.contains("# TYPE portier_gateway_route_reloads_total counter"))
            expectJSONError(try await gw.get("/metrics"), status: 404, error: "not_found")

            // The admin listener also has the probes, and nothing else.
            #expect(try await HTTP.request(.GET, gw.admin + "/health/live").status == 200)
            #expect(try await eventually { try await HTTP.request(.GET, gw.admin + "/health/ready").status == 200 }, "ready once keys are loaded")
            expectJSONError(try await HTTP.request(.GET, gw.admin + "/books"), status: 404, error: "not_found")
        }
    }

    @Test func aCatchAllRouteDoesNotProxyMetrics() async throws {
        try await GatewayHarness.run(routes: { ["routes": [["id": "all", "path": "/", "upstreams": [$0.upstream("a")], "public": true]]] }) { gw in
            expectJSONError(try await gw.get("/metrics"), status: 404, error: "not_found")
            #expect(gw.upstreams["a"]!.hits.load(ordering: .relaxed) == 0)
            #expect(try await gw.metrics().contains("portier_gateway_requests_total"))
        }
    }

    @Test func healthProbes() async throws {
        // No token server: no signing keys and no revocation feed, so not ready (but alive).
        try await GatewayHarness.run(upstreams: ["a", "b"], tokenServer: false, routes: Self.routes) { gw in
            let live = try await gw.get("/health/live")
            #expect(live.status == 200 && live.json["status"] as? String == "up")
            let ready = try await gw.get("/health/ready")
            #expect(ready.status == 503 && ready.json["status"] as? String == "down", "\(ready.text)")
            #expect(ready.header("Content-Type") == "application/json")
            let reason = ready.json["reason"] as? String ?? ""
            #expect(reason.contains("signing keys") && reason.contains("revocation feed"), "\(reason)")
            #expect(try await HTTP.request(.GET, gw.admin + "/health/ready").status == 503, "the admin listener answers the same")
        }
        // With the token server: ready once keys and the feed are in.
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            #expect(try await eventually { try await gw.get("/health/ready").status == 200 })
            let ready = try await gw.get("/health/ready")
            #expect(ready.json["status"] as? String == "up" && ready.json["reason"] == nil, "\(ready.text)")
            #expect(try await gw.get("/health/live").status == 200)
        }
    }
}

@Suite struct UpstreamTests {
    static func routes(_ ports: GatewayHarness.Ports) -> [String: Any] {
        [
            "maxBodyBytes": 1000,
            "routes": [
                ["id": "pair", "path": "/pair", "upstreams": [ports.upstream("a"), ports.upstream("b")], "public": true],
                // Port 1 refuses connections on loopback.
                ["id": "flaky", "path": "/flaky", "upstreams": ["http://127.0.0.1:1", ports.upstream("a")], "public": true],
                ["id": "dead", "path": "/dead", "upstreams": ["http://127.0.0.1:1"], "public": true, "circuitBreaker": false],
                ["id": "slow", "path": "/slow", "upstreams": [ports.upstream("a")], "public": true, "timeoutMillis": 200, "circuitBreaker": false],
                ["id": "big", "path": "/upload", "upstreams": [ports.upstream("a")], "public": true, "maxBodyBytes": 2000],
            ],
        ]
    }

    @Test func severalUpstreamsAreUsedRoundRobin() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            var seen: [String] = []
            for _ in 0..<6 { seen.append(try gw.echo(try await gw.get("/pair")).instance) }
            #expect(seen.filter { $0 == "a" }.count == 3)
            #expect(seen.filter { $0 == "b" }.count == 3)
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 != $1 }, "alternating: \(seen)")
        }
    }

    @Test func anUpstreamThatRefusesConnectionsIsSkipped() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            for _ in 0..<6 {
                let response = try await gw.get("/flaky/x")
                #expect(response.status == 200, "a refused GET is retried once on the other instance")
                #expect(try gw.echo(response).instance == "a")
            }
            let metrics = try await gw.metrics()
            #expect(metrics.contains(#"portier_gateway_upstream_errors_total{route="flaky",kind="connect"} 1"#), "ejected after one refusal")
        }
    }

    @Test func refusedUpstreamIs502AndSlowUpstreamIs504() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            expectJSONError(try await gw.get("/dead"), status: 502, error: "bad_gateway")
            // The upstream would answer 200 after 5 s; a 504 means the route's 200 ms cut the wait.
            let slow = try await gw.get("/slow?ms=5000")
            expectJSONError(slow, status: 504, error: "upstream_timeout")
            #expect((slow.json["error_description"] as? String)?.contains("within 200") == true, "\(slow.text)")
        }
    }

    @Test func bodiesOverTheLimitAre413() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            let declared = try await HTTP.request(.POST, gw.base + "/pair", headers: [("Content-Type", "text/plain")], body: Array(repeating: 65, count: 1001))
            expectJSONError(declared, status: 413, error: "payload_too_large")
            let fits = try await HTTP.request(.POST, gw.base + "/pair", headers: [("Content-Type", "text/plain")], body: Array(repeating: 65, count: 1000))
            let echoed = try gw.echo(fits)
            #expect(fits.status == 200 && echoed.bodyBytes == 1000)
            #expect(try await gw.get("/pair").status == 200, "the gateway still answers after refusing a body")
        }
    }

    @Test func aChunkedBodyIsCutOffAtTheRouteLimit() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b"], routes: Self.routes) { gw in
            let response = try await StreamingClient.upload(gw.base + "/upload", chunks: 5, chunkSize: 1000, declareLength: false)
            expectJSONError(response, status: 413, error: "payload_too_large")
        }
    }
}
