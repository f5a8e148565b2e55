import Foundation
import PortierTestSupport
import Testing

/// `portier gateway` as a child process: what only a real process can show.
@Suite struct GatewayProcessTests {
    func withUpstream<T: Sendable>(_ body: @Sendable (TestUpstream, Int) async throws -> T) async throws -> T {
        let upstream = TestUpstream(name: "a")
        let signal = PortSignal()
        return try await LiveServer.run(upstream.application(onServerRunning: signal.callback), port: signal) { port in
            try await body(upstream, port)
        }
    }

    func routes(_ upstreamPort: Int, extra: [[String: Any]] = []) -> [String: Any] {
        ["routes": [["id": "rooms", "path": "/rooms", "upstreams": ["http://127.0.0.1:\(upstreamPort)"], "public": true]] + extra]
    }

    @Test func sighupReloadsAtOnce() async throws {
        try await withUpstream { _, upstreamPort in
            try await TemporaryDirectory.with { dir in
                let path = dir.sub("routes.json")
                try GatewayHarness.write(routes(upstreamPort), to: path)
                // Polling once an hour: only SIGHUP can make this reload happen.
                let gateway = try ChildProcess(["gateway", "--port", "0", "--routes", path, "--watch-interval-ms", "3600000"])
                let port = try await gateway.port(fromLineContaining: "gateway listening")
                let base = "http://127.0.0.1:\(port)"
                #expect(try await HTTP.request(.GET, base + "/books").status == 404)

                let books: [String: Any] = ["id": "books", "path": "/books", "upstreams": ["http://127.0.0.1:\(upstreamPort)"], "public": true]
                try GatewayHarness.write(routes(upstreamPort, extra: [books]), to: path)
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await HTTP.request(.GET, base + "/books").status == 404, "no reload without the signal")
                gateway.signal(SIGHUP)
                #expect(try await eventually { try await HTTP.request(.GET, base + "/books").status == 200 })
                #expect(try await eventually { gateway.lines.contains { $0.contains("routes reloaded") && $0.contains("SIGHUP") } })
                gateway.signal(SIGTERM)
                #expect(try await gateway.waitForExit() == 0)
            }
        }
    }

    @Test func sigtermFinishesInFlightRequestsThenExitsZero() async throws {
        try await withUpstream { upstream, upstreamPort in
            try await TemporaryDirectory.with { dir in
                let path = dir.sub("routes.json")
                let slow: [String: Any] = ["id": "slow", "path": "/slow", "upstreams": ["http://127.0.0.1:\(upstreamPort)"], "public": true]
                try GatewayHarness.write(routes(upstreamPort, extra: [slow]), to: path)
                let gateway = try ChildProcess(["gateway", "--port", "0", "--routes", path])
                let port = try await gateway.port(fromLineContaining: "gateway listening")
                let base = "http://127.0.0.1:\(port)"

                let inFlight = Task { try await HTTP.request(.GET, base + "/slow?ms=1500") }
                #expect(try await eventually { upstream.hits.load(ordering: .relaxed) == 1 }, "the slow request reached the upstream")
                gateway.signal(SIGTERM)

                let response = try await inFlight.value
                #expect(response.status == 200, "the request in flight was answered")
                #expect(try await gateway.waitForExit() == 0)
                await #expect(throws: (any Error).self, "no longer accepting") { _ = try await HTTP.request(.GET, base + "/rooms", timeout: .seconds(2)) }
            }
        }
    }

    @Test func everyRequestLeavesOneJSONAccessLogLine() async throws {
        try await withUpstream { _, upstreamPort in
            try await TemporaryDirectory.with { dir in
                let path = dir.sub("routes.json")
                try GatewayHarness.write(routes(upstreamPort), to: path)
                let gateway = try ChildProcess(["gateway", "--port", "0", "--routes", path])
                let port = try await gateway.port(fromLineContaining: "gateway listening")
                let base = "http://127.0.0.1:\(port)"
                let found = try await HTTP.request(.GET, base + "/rooms/7?x=1")
                let missing = try await HTTP.request(.GET, base + "/nowhere")
                #expect(found.status == 200 && missing.status == 404)

                @Sendable func accessLine(_ requestID: String?) -> [String: Any]? {
                    gateway.lines.lazy
                        .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
                        .first { $0["msg"] as? String == "request" && $0["request_id"] as? String == requestID }
                }
                #expect(try await eventually { accessLine(missing.header("X-Request-Id")) != nil })
                let hit = try #require(accessLine(found.header("X-Request-Id")))
                #expect(hit["level"] as? String == "info" && hit["service"] as? String == "gateway")
                #expect(hit["method"] as? String == "GET" && hit["path"] as? String == "/rooms/7" && hit["status"] as? Int == 200)
                #expect(hit["route"] as? String == "rooms" && hit["upstream"] as? String == "http://127.0.0.1:\(upstreamPort)")
                #expect(hit["client"] as? String == "127.0.0.1")
                #expect((hit["duration_ms"] as? Double ?? -1) >= 0)
                #expect((hit["ts"] as? String)?.hasSuffix("Z") == true)
                let miss = try #require(accessLine(missing.header("X-Request-Id")))
                #expect(miss["status"] as? Int == 404 && miss["path"] as? String == "/nowhere" && miss["upstream"] == nil)
                gateway.signal(SIGTERM)
                #expect(try await gateway.waitForExit() == 0)
            }
        }
    }

    @Test func aStalledRequestGets408AndAnIdleConnectionIsClosed() async throws {
        try await withUpstream { _, upstreamPort in
            try await TemporaryDirectory.with { dir in
                let path = dir.sub("routes.json")
                try GatewayHarness.write(routes(upstreamPort), to: path)
                let gateway = try ChildProcess(["gateway", "--port", "0", "--routes", path, "--idle-timeout-seconds", "1"])
                let port = try await gateway.port(fromLineContaining: "gateway listening")

                // 3 of 10 promised bytes, then silence.
                let stalled = try await RawSocket.sendAndReadUntilClosed(
                    port: port, "POST /rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"
                )
                #expect(stalled.hasPrefix("HTTP/1.1 408"), "\(stalled)")
                #expect(stalled.contains(#""error":"request_timeout""#), "\(stalled)")

                // A keep-alive connection after its answer, then silence: closed, nothing more sent.
                let idle = try await RawSocket.sendAndReadUntilClosed(port: port, "GET /rooms HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(idle.hasPrefix("HTTP/1.1 200"), "\(idle)")
                #expect(idle.components(separatedBy: "HTTP/1.1 ").count == 2, "exactly one response: \(idle)")
                #expect(try await eventually { gateway.lines.contains { $0.contains(#""msg":"request""#) && $0.contains(#""status":408"#) } })
                gateway.signal(SIGTERM)
                #expect(try await gateway.waitForExit() == 0)
            }
        }
    }

    @Test func anInvalidRoutesFileStopsTheStartWithAClearMessage() async throws {
        try await TemporaryDirectory.with { dir in
            let path = dir.sub("routes.json")
            try #"{"routes": [{"id": "books", "path": "/books", "upstreams": ["http://u:1"], "public": true, "rateLimit": {"perSecond": 1, "burst": 0}}]}"#
                .write(toFile: path, atomically: true, encoding: .utf8)
            let gateway = try ChildProcess(["gateway", "--port", "0", "--routes", path])
            #expect(try await gateway.waitForExit() != 0)
            #expect(gateway.lines.contains { $0.contains("route 'books': rateLimit.burst must be >= 1") }, "\(gateway.lines)")
        }
    }
}
