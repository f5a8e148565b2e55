import Foundation
import PortierTestSupport
import Testing
import Tokens

/// One HTTP/1.1 response as it came off the wire.
struct RawResponse {
    var status: Int
    var head: String
    var body: String

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }

    func header(_ name: String) -> String? {
        for line in head.components(separatedBy: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() { return parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    /// Splits what a connection received into its responses (bodies here are small JSON).
    static func parse(_ text: String) -> [RawResponse] {
        var responses: [RawResponse] = []
        var rest = Substring(text)
        while let headEnd = rest.range(of: "\r\n\r\n") {
            let head = String(rest[..<headEnd.lowerBound])
            let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            var response = RawResponse(status: status, head: head, body: "")
            let length = Int(response.header("Content-Length") ?? "0") ?? 0
            let bodyStart = headEnd.upperBound
            let bodyEnd = rest.index(bodyStart, offsetBy: length, limitedBy: rest.endIndex) ?? rest.endIndex
            response.body = String(rest[bodyStart..<bodyEnd])
            responses.append(response)
            rest = rest[bodyEnd...]
        }
        return responses
    }
}

extension GatewayHarness {
    var port: Int { Int(base.split(separator: ":").last ?? "") ?? 0 }

    /// Sends `text` exactly as written (no client normalizes anything) and returns the responses
    /// the gateway wrote before closing the connection.
    func raw(_ text: String) async throws -> [RawResponse] {
        RawResponse.parse(try await RawSocket.sendAndReadUntilClosed(port: port, text))
    }

    /// One GET of `target`, byte for byte, on its own connection.
    func rawGET(_ target: String, headers: String = "") async throws -> RawResponse {
        let responses = try await raw("GET \(target) HTTP/1.1\r\nHost: gateway.test\r\n\(headers)Connection: close\r\n\r\n")
        guard let response = responses.first else { throw HarnessError("no response to GET \(target)") }
        return response
    }
}

/// Asserts the JSON error shape of a refusal read off the wire.
func expectRawError(_ response: RawResponse, status: Int, error: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == status, "\(response.head)\n\(response.body)", sourceLocation: sourceLocation)
    #expect(response.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
    #expect(response.json["error"] as? String == error, "\(response.body)", sourceLocation: sourceLocation)
    #expect(response.json["request_id"] as? String == response.header("X-Request-Id"), sourceLocation: sourceLocation)
}

/// What the gateway accepts from a client before anything reaches a route: head size, methods,
/// path spellings, and tokens that name no client.
@Suite(.timeLimit(.minutes(2))) struct InputBoundsTests {
    static func routes(_ ports: GatewayHarness.Ports) -> [String: Any] {
        [
            "auth": ports.auth_,
            "routes": [
                ["id": "rooms", "path": "/rooms", "upstreams": [ports.upstream("a")], "public": true],
                ["id": "payments", "path": "/payments", "upstreams": [ports.upstream("b")], "public": true],
                ["id": "everything-else", "path": "/", "upstreams": [ports.upstream("c")], "public": true],
                ["id": "secure", "path": "/secure", "upstreams": [ports.upstream("a")], "scopes": GatewayHarness.readWrite],
            ],
        ]
    }

    static let padding = String(repeating: "p", count: 1000)

    /// `count` headers of about 1 KB each.
    static func bigHeaders(kilobytes count: Int) -> String {
        (0..<count).map { "X-Pad-\($0): \(padding)\r\n" }.joined()
    }

    func hits(_ gw: GatewayHarness) -> Int {
        gw.upstreams.values.reduce(0) { $0 + $1.hits.load(ordering: .relaxed) }
    }

    @Test func aHeadAboveTheLimitGets431AndTheConnectionCloses() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b", "c"], routes: Self.routes) { gw in
            // 70 KB in headers, what Envoy (60 KB) refuses and NIO's own limit (80 KB) would let through.
            let refused = try await gw.raw("GET /rooms HTTP/1.1\r\nHost: x\r\n\(Self.bigHeaders(kilobytes: 70))\r\n")
            #expect(refused.count == 1, "one answer, then the connection closed")
            let response = try #require(refused.first)
            expectRawError(response, status: 431, error: "request_header_fields_too_large")
            #expect(response.header("Connection") == "close")
            // One huge header too, not only many.
            let single = try await gw.raw("GET /rooms HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 40_000))\r\n\r\n")
            expectRawError(try #require(single.first), status: 431, error: "request_header_fields_too_large")
            #expect(hits(gw) == 0, "nothing reached an upstream")

            // Under the limit (32 KB by default) passes.
            let fits = try await gw.rawGET("/rooms", headers: Self.bigHeaders(kilobytes: 20))
            #expect(fits.status == 200)
            #expect(try await gw.metrics().contains("portier_gateway_requests_total"), "the gateway is still up")
        }
    }

    @Test func theLimitIsPerRequestOnAKeepAliveConnectionAndAnswersStayInOrder() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b", "c"], routes: Self.routes) { gw in
            // Three pipelined requests of 20 KB heads each: 60 KB on one connection, none over the limit.
            let request = "GET /rooms HTTP/1.1\r\nHost: x\r\n\(Self.bigHeaders(kilobytes: 20))\r\n"
            let fine = try await gw.raw(request + request + "GET /rooms HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(fine.map(\.status) == [200, 200, 200])

            // A good request (to a slow upstream path) and a too-large one behind it: the first is
            // answered in full, then the 431, then the connection closes.
            let tooLarge = "GET /rooms HTTP/1.1\r\nHost: x\r\n\(Self.bigHeaders(kilobytes: 40))\r\n"
            let mixed = try await gw.raw("GET /slow?ms=200 HTTP/1.1\r\nHost: x\r\n\r\n" + tooLarge)
            #expect(mixed.map(\.status) == [200, 431], "\(mixed.map(\.head))")
        }
    }

    @Test func traceAndConnectAreRefusedBeforeRouting() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b", "c"], routes: Self.routes) { gw in
            let trace = try await gw.raw("TRACE /rooms HTTP/1.1\r\nHost: x\r\nCookie: secret\r\nConnection: close\r\n\r\n")
            let traced = try #require(trace.first)
            expectRawError(traced, status: 405, error: "method_not_allowed")
            #expect(traced.header("Allow") == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
            #expect(!traced.body.contains("secret"), "nothing is reflected")

            let upstreamPort = gw.ports.upstreams["a"] ?? 0
            let connect = try await gw.raw("CONNECT 127.0.0.1:\(upstreamPort) HTTP/1.1\r\nHost: 127.0.0.1:\(upstreamPort)\r\n\r\n")
            #expect(connect.count == 1, "refused, and the connection closed rather than tunnelled")
            let connected = try #require(connect.first)
            // NIO frames every response to CONNECT without content (RFC 9112 6.3), so this one has no JSON body.
            #expect(connected.status == 405, "\(connected.head)")
            #expect(connected.header("Allow") == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
            #expect(connected.header("X-Request-Id") != nil)
            #expect(hits(gw) == 0, "no upstream was contacted")
        }
    }

    /// Each spelling either is refused with 400, or reaches the route (and upstream) its decoded,
    /// normalized form matches, with that path.
    @Test func encodedSlashesAndDotSegmentsCannotReachAnotherRoute() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b", "c"], routes: Self.routes) { gw in
            for refused in [
                "/rooms%2F..%2Fpayments", "/rooms%2f..%2fpayments", "/rooms/%2e%2e/payments", "/rooms/%2E%2E/payments", "/rooms/.%2e/payments",
                "/rooms\\..\\payments", "/rooms%5C..%5Cpayments", "/rooms/../payments", "/rooms/./x", "/rooms/..;/payments", "/%2e%2e/payments",
                "/rooms%2Fx", "/rooms/%zz", "/rooms/%4",
            ] {
                let response = try await gw.rawGET(refused)
                expectRawError(response, status: 400, error: "invalid_request")
                #expect(response.status == 400, "\(refused)")
            }
            #expect(hits(gw) == 0, "no refused spelling reached any upstream")

            let routed: [(target: String, instance: String, path: String)] = [
                ("/%72ooms", "a", "/rooms"),
                ("/%72%6F%6f%6Ds/7", "a", "/rooms/7"),
                ("//payments", "b", "/payments"),
                ("/rooms//7", "a", "/rooms/7"),
                ("///rooms", "a", "/rooms"),
                ("/%70ayments/1", "b", "/payments/1"),
                ("/roomsX", "c", "/roomsX"),
                ("/rooms/caf%c3%a9", "a", "/rooms/caf%C3%A9"),
                ("/rooms/a%20b?q=%2F", "a", "/rooms/a%20b"),
                ("/rooms/..x", "a", "/rooms/..x"),
            ]
            for (target, instance, path) in routed {
                let response = try await gw.rawGET(target)
                #expect(response.status == 200, "\(target): \(response.body)")
                let echo = try JSONDecoder().decode(TestUpstream.Echo.self, from: Data(response.body.utf8))
                #expect(echo.instance == instance, "\(target) went to \(echo.instance)")
                #expect(echo.path == path, "\(target) arrived as \(echo.path)")
            }
            let query = try JSONDecoder().decode(TestUpstream.Echo.self, from: Data(try await gw.rawGET("/rooms/a%20b?q=%2F").body.utf8))
            #expect(query.query == "q=%2F", "the query is forwarded untouched")
        }
    }

    @Test func aProtectedRouteCannotBeReachedThroughAnotherSpelling() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b", "c"], routes: Self.routes) { gw in
            for spelling in ["/secure", "//secure", "/%73ecure", "/%73%65%63%75%72%65/x"] {
                let response = try await gw.rawGET(spelling)
                #expect(response.status == 401, "\(spelling) must need a token: \(response.body)")
            }
            // A servlet upstream would read these as /secure; the catch-all route must not get them.
            for parameters in ["/secure;x", "/secure;jsessionid=1/x", "/secure%3Bx", "/secure%3bx"] {
                let response = try await gw.rawGET(parameters)
                expectRawError(response, status: 400, error: "invalid_request")
            }
            #expect(hits(gw) == 0)
        }
    }

    @Test func aTokenThatNamesNoClientIsRefused() async throws {
        try await GatewayHarness.run(upstreams: ["a", "b", "c"], routes: Self.routes) { gw in
            let signer = try TokenSigner(key: gw.signingKey())
            #expect(try await gw.get("/secure", token: try signer.sign(gw.claims())).status == 200, "the forging works")

            var anonymous = gw.claims()
            anonymous.sub = nil
            anonymous.clientID = nil
            let response = try await gw.get("/secure", token: try signer.sign(anonymous))
            expectJSONError(response, status: 401, error: "invalid_token")
            #expect(response.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)

            var empty = gw.claims()
            empty.sub = ""
            empty.clientID = ""
            expectJSONError(try await gw.get("/secure", token: try signer.sign(empty)), status: 401, error: "invalid_token")

            // Either claim alone names the client.
            var subOnly = gw.claims()
            subOnly.clientID = nil
            let bySub = try await gw.get("/secure", token: try signer.sign(subOnly))
            #expect(bySub.status == 200)
            #expect(try gw.echo(bySub).headers["x-client-id"] == "forged")
        }
    }
}
