import Foundation
import PortierTestSupport
import PortierTracing
import Testing

/// W3C Trace Context through the gateway: what the upstream receives, with a real upstream that
/// echoes every header it got (a header sent twice shows as both values).
@Suite struct TraceContextTests {
    static func routes(_ ports: GatewayHarness.Ports) -> [String: Any] {
        ["routes": [["id": "books", "path": "/books", "upstreams": [ports.upstream("a")], "public": true]]]
    }

    static let clientTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func aValidTraceIsContinuedWithTheGatewayAsTheParent() async throws {
        try await GatewayHarness.run(tokenServer: false, routes: Self.routes) { gw in
            let response = try await gw.get("/books", headers: [("traceparent", Self.clientTrace), ("tracestate", "congo=t61rcWkgMzE")])
            let echo = try gw.echo(response)
            let sent = try #require(echo.headers["traceparent"])
            let upstream = try #require(TraceParent(sent), "one valid traceparent went upstream: \(sent)")
            let client = try #require(TraceParent(Self.clientTrace))
            #expect(upstream.traceID == client.traceID, "the client's trace continues")
            #expect(upstream.parentID != client.parentID, "the gateway is the upstream's parent, not the client's span")
            #expect(upstream.isSampled, "the client's sampling decision is kept")
            #expect(echo.headers["tracestate"] == "congo=t61rcWkgMzE", "tracestate travels with its trace")
        }
    }

    @Test func withoutAValidTraceTheGatewayStartsOne() async throws {
        try await GatewayHarness.run(tokenServer: false, routes: Self.routes) { gw in
            var traces = Set<String>()
            for headers in [[], [("traceparent", Self.clientTrace.uppercased())], [("traceparent", "ff" + Self.clientTrace.dropFirst(2))]] {
                let echo = try gw.echo(try await gw.get("/books", headers: headers + [("tracestate", "congo=t61rcWkgMzE")]))
                let sent = try #require(echo.headers["traceparent"])
                let upstream = try #require(TraceParent(sent), "a valid traceparent went upstream: \(sent)")
                #expect(upstream.traceID != "4bf92f3577b34da6a3ce929d0e0e4736", "an invalid value is not continued")
                #expect(!upstream.isSampled && upstream.flags == 0x02, "a new trace: random id, not sampled")
                #expect(echo.headers["tracestate"] == nil, "a client's tracestate does not travel with another trace")
                traces.insert(upstream.traceID)
            }
            #expect(traces.count == 3, "each request starts its own trace")
        }
    }
}
