import AsyncHTTPClient
import Foundation
import PortierTestSupport
import Synchronization
import Testing

/// 10 MB both ways, and proof that neither direction is buffered whole: each transfer stalls
/// halfway until the other side has seen the first megabyte, which only a streaming proxy allows.
@Suite(.timeLimit(.minutes(2))) struct StreamingTests {
    static func routes(_ ports: GatewayHarness.Ports) -> [String: Any] {
        ["routes": [["id": "files", "path": "/", "upstreams": [ports.upstream("a")], "public": true, "timeoutMillis": 30000]]]
    }

    static let tenMegabytes = 10 * 1024 * 1024

    @Test func aTenMegabyteDownloadStreams() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let upstream = gw.upstreams["a"]!
            let result = try await StreamingClient.download(gw.base + "/download?bytes=\(Self.tenMegabytes)&gated=1") { received in
                // The upstream holds back the rest until the client has seen a megabyte.
                if received >= 1 << 20 { upstream.downloadGate.open() }
            }
            #expect(result.status == 200)
            #expect(result.bytes == Self.tenMegabytes)
        }
    }

    @Test func aTenMegabyteUploadStreams() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let upstream = gw.upstreams["a"]!
            // The client sends 1 MiB, then waits until the upstream says it has received 1 MiB.
            let response = try await StreamingClient.upload(
                gw.base + "/upload", chunks: 160, chunkSize: 64 * 1024, declareLength: true, pauseAfter: (1 << 20, upstream.uploadStarted)
            )
            #expect(response.status == 200)
            #expect(response.json["received"] as? Int == Self.tenMegabytes)
        }
    }

    @Test func anUpstreamThatStallsAfterItsHeadIsCutByTheRouteTimeout() async throws {
        let routes: @Sendable (GatewayHarness.Ports) -> [String: Any] = { ports in
            ["routes": [["id": "files", "path": "/", "upstreams": [ports.upstream("a")], "public": true, "timeoutMillis": 1000]]]
        }
        try await GatewayHarness.run(routes: routes) { gw in
            // The upstream sends its head and 1 MiB of 2, then waits for a gate nobody opens. The
            // route's timeout covers the silence after the head too, so the gateway cuts the
            // connection (the client's own deadline is a minute away).
            let received = Atomic<Int>(0)
            do {
                _ = try await StreamingClient.download(gw.base + "/download?bytes=\(2 << 20)&gated=1") { total in
                    received.store(total, ordering: .relaxed)
                }
                Issue.record("the whole body arrived, though the upstream never sent it")
            } catch {
                #expect("\(error)" != "\(HTTPClientError.deadlineExceeded)", "the client gave up first: the gateway never cut the stall")
            }
            #expect(received.load(ordering: .relaxed) < 2 << 20)
            let metrics = try await gw.metrics()
            #expect(metrics.contains(#"portier_gateway_upstream_errors_total{route="files",kind="timeout"} 1"#), "counted before the connection closed")
            // Let the upstream's handler finish, so that the upstream can shut down.
            gw.upstreams["a"]?.downloadGate.open()
        }
    }

    @Test func aChunkedUploadStreamsToo() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let upstream = gw.upstreams["a"]!
            let response = try await StreamingClient.upload(
                gw.base + "/upload", chunks: 40, chunkSize: 64 * 1024, declareLength: false, pauseAfter: (1 << 20, upstream.uploadStarted)
            )
            #expect(response.status == 200)
            #expect(response.json["received"] as? Int == 40 * 64 * 1024)
        }
    }
}
