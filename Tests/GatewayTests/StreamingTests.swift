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
