import Foundation
import PortierTestSupport
import Testing

/// Clients that misbehave at the connection level: the gateway must neither crash nor hang nor
/// blame the upstream.
@Suite(.timeLimit(.minutes(2))) struct ConnectionTests {
    static func routes(_ ports: GatewayHarness.Ports) -> [String: Any] {
        ["routes": [["id": "svc", "path": "/", "upstreams": [ports.upstream("a")], "public": true]]]
    }

    @Test func aClientThatPipelinesAndHangsUpLeavesNothingBehind() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let port = Int(gw.base.split(separator: ":").last!)!
            // A slow request, a second one with a body behind it, then FIN: all in one packet.
            try RawSocket.sendAndClose(
                port: port,
                "GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            )
            // The answers go nowhere (the client is gone), but the gateway must neither crash nor
            // blame the upstream; a FIN alone means "no more requests", so both may be answered.
            // Once the slow request is accounted for (200, or 499 if the hang-up cut it short), its
            // upstream call has ended one way or the other and any blame would be on record.
            #expect(try await eventually {
                try await gw.metrics().contains(#"portier_gateway_requests_total{route="svc",method="GET""#)
            })
            let response = try await gw.get("/echo")
            #expect(response.status == 200, "the gateway keeps serving")
            let metrics = try await gw.metrics()
            #expect(!metrics.contains("portier_gateway_upstream_errors_total"), "a client hanging up is not an upstream failure")
            #expect(metrics.contains(#"portier_gateway_circuit_breaker_state{route="svc"} 0"#))
        }
    }

    @Test func anUpstreamThatAnswersBeforeReadingTheUploadDoesNotHang() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            for declareLength in [true, false] {
                let response = try await StreamingClient.upload(gw.base + "/early", chunks: 32, chunkSize: 64 * 1024, declareLength: declareLength)
                #expect(response.status == 413, "the client gets the upstream's early answer (declared length: \(declareLength))")
                #expect(response.json["error"] as? String == "too big")
            }
            #expect(try await gw.get("/echo").status == 200)
        }
    }
}
