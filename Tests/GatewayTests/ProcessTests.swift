import AsyncHTTPClient
import Foundation
import PortierTestSupport
import PortierTracing
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

    /// A `portier gateway` child process in front of one test upstream, with routes.json in a
    /// temporary directory.
    struct Running: Sendable {
        let gateway: ChildProcess
        let base: String
        /// The admin listener (/metrics, health probes).
        let admin: String
        let upstream: TestUpstream
        let upstreamPort: Int
        let routesPath: String
    }

    func withGatewayProcess(
        extraRoutes: @Sendable (_ upstreamPort: Int) -> [[String: Any]] = { _ in [] }, arguments: [String] = [],
        _ body: @Sendable (Running) async throws -> Void
    ) async throws {
        try await withUpstream { upstream, upstreamPort in
            try await TemporaryDirectory.with { dir in
                let path = dir.sub("routes.json")
                try GatewayHarness.write(routes(upstreamPort, extra: extraRoutes(upstreamPort)), to: path)
                let gateway = try ChildProcess(["gateway", "--port", "0", "--admin-port", "0", "--routes", path] + arguments)
                let port = try await gateway.port(fromLineContaining: "gateway listening")
                let adminPort = try await gateway.port(fromLineContaining: "gateway admin listener ready")
                try await body(
                    Running(
                        gateway: gateway, base: "http://127.0.0.1:\(port)", admin: "http://127.0.0.1:\(adminPort)", upstream: upstream,
                        upstreamPort: upstreamPort, routesPath: path
                    )
                )
            }
        }
    }

    /// The `portier_gateway_route_reloads_total` counter for `result`, from the admin listener.
    func reloads(_ run: Running, result: String = "ok") async throws -> Int {
        let metrics = try await HTTP.request(.GET, run.admin + "/metrics").text
        let prefix = #"portier_gateway_route_reloads_total{result=""# + result + #""} "#
        let line = metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }
        return line.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }

    @Test func sighupReloadsAtOnce() async throws {
        // Polling once an hour: only SIGHUP can make this reload happen.
        try await withGatewayProcess(arguments: ["--watch-interval-ms", "3600000"]) { run in
            // Before this line a SIGHUP would still end the process.
            _ = try await run.gateway.waitForLine(containing: "SIGHUP reloads the routes file")
            #expect(try await HTTP.request(.GET, run.base + "/books").status == 404)

            let books: [String: Any] = ["id": "books", "path": "/books", "upstreams": ["http://127.0.0.1:\(run.upstreamPort)"], "public": true]
            try GatewayHarness.write(routes(run.upstreamPort, extra: [books]), to: run.routesPath)
            #expect(try await reloads(run) == 0, "no reload without the signal")
            #expect(try await HTTP.request(.GET, run.base + "/books").status == 404, "the old table serves until the signal")
            run.gateway.signal(SIGHUP)
            #expect(try await eventually { try await reloads(run) == 1 }, "one reload, from the signal")
            #expect(try await HTTP.request(.GET, run.base + "/books").status == 200)
            #expect(try await eventually { run.gateway.lines.contains { $0.contains("routes reloaded") && $0.contains("SIGHUP") } })
            run.gateway.signal(SIGTERM)
            #expect(try await run.gateway.waitForExit() == 0)
        }
    }

    @Test func sigtermFinishesInFlightRequestsThenExitsZero() async throws {
        // The upstream runs in this test process, which may be starved for seconds when every suite
        // runs at once; a long route timeout keeps this test about draining, not about timeouts.
        let slow: @Sendable (Int) -> [[String: Any]] = {
            [["id": "slow", "path": "/slow", "upstreams": ["http://127.0.0.1:\($0)"], "public": true, "timeoutMillis": 120_000]]
        }
        try await withGatewayProcess(extraRoutes: slow) { run in
            let base = run.base
            let inFlight = Task { try await HTTP.request(.GET, base + "/slow?ms=1500") }
            #expect(try await eventually { run.upstream.hits.load(ordering: .relaxed) == 1 }, "the slow request reached the upstream")
            run.gateway.signal(SIGTERM)

            let response = try await inFlight.value
            #expect(response.status == 200, "the request in flight was answered: \(response.text)")
            #expect(try await run.gateway.waitForExit() == 0)
            await #expect(throws: (any Error).self, "no longer accepting") { _ = try await HTTP.request(.GET, base + "/rooms", timeout: .seconds(2)) }
        }
    }

    @Test func sigtermEndsAnOpenStatusStreamAndExitsZero() async throws {
        try await withGatewayProcess { run in
            var request = HTTPClientRequest(url: run.admin + "/status/events")
            request.headers.add(name: "Accept", value: "text/event-stream")
            let response = try await HTTP.client.execute(request, timeout: .seconds(60))
            #expect(response.status == .ok)
            var body = response.body.makeAsyncIterator()
            let first = try await body.next()
            #expect(first.map { String(buffer: $0) }?.hasPrefix("event: status") == true, "the stream is open and sending")
            run.gateway.signal(SIGTERM)
            // A status stream never ends by itself: the gateway ends it cleanly (the chunked body's
            // last chunk), rather than waiting out its drain period and cutting the connection.
            await #expect(throws: Never.self, "the stream ends cleanly") {
                while try await body.next() != nil {}
            }
            #expect(try await run.gateway.waitForExit(timeout: .seconds(20)) == 0)
        }
    }

    @Test func portierStatusPrintsTheRoutesAsATable() async throws {
        try await withGatewayProcess { run in
            #expect(try await HTTP.request(.GET, run.base + "/rooms/1").status == 200)
            let status = try ChildProcess(["status", "--admin-url", run.admin])
            #expect(try await status.waitForExit() == 0)
            let lines = status.lines
            #expect(lines.contains { $0.hasPrefix("Route table version 0 (1 routes); last reload: ok") }, "\(lines)")
            let header = try #require(lines.first { $0.hasPrefix("ROUTE") })
            #expect(header.contains("UPSTREAMS") && header.contains("BREAKER") && header.contains("P99"))
            let row = try #require(lines.first { $0.hasPrefix("rooms ") })
            #expect(row.contains("/rooms") && row.contains("http://127.0.0.1:\(run.upstreamPort)"), "\(row)")
            #expect(lines.contains("Tokens: no auth section; every route is public"))

            // A rejected file's message quotes what the file said, escape sequences included.
            try Data(#"{"routes": [{"id": "\u001b]0;pwned\u0007"}]}"#.utf8).write(to: URL(fileURLWithPath: run.routesPath))
            #expect(try await eventually { try await reloads(run, result: "failed") == 1 })
            let hostile = try ChildProcess(["status", "--admin-url", run.admin])
            #expect(try await hostile.waitForExit() == 0)
            #expect(hostile.lines.contains { $0.contains("rejected: ") && $0.contains("\\u{1b}]0;pwned\\u{7}") }, "\(hostile.lines)")
            #expect(!hostile.lines.contains { $0.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 } }, "no escape reaches the terminal")

            let unreachable = try ChildProcess(["status", "--admin-url", "http://127.0.0.1:1"])
            #expect(try await unreachable.waitForExit() == 1)
            #expect(unreachable.lines.contains { $0.contains("cannot reach the gateway's admin listener") })
        }
    }

    @Test func everyRequestLeavesOneJSONAccessLogLine() async throws {
        try await withGatewayProcess { run in
            let found = try await HTTP.request(.GET, run.base + "/rooms/7?x=1")
            let missing = try await HTTP.request(.GET, run.base + "/nowhere")
            #expect(found.status == 200 && missing.status == 404)

            @Sendable func accessLine(_ requestID: String?) -> [String: Any]? {
                run.gateway.lines.lazy
                    .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
                    .first { $0["msg"] as? String == "request" && $0["request_id"] as? String == requestID }
            }
            #expect(try await eventually { accessLine(missing.header("X-Request-Id")) != nil })
            let hit = try #require(accessLine(found.header("X-Request-Id")))
            #expect(hit["level"] as? String == "info" && hit["service"] as? String == "gateway")
            #expect(hit["method"] as? String == "GET" && hit["path"] as? String == "/rooms/7" && hit["status"] as? Int == 200)
            #expect(hit["route"] as? String == "rooms" && hit["upstream"] as? String == "http://127.0.0.1:\(run.upstreamPort)")
            #expect(hit["client"] as? String == "127.0.0.1")
            #expect((hit["duration_ms"] as? Double ?? -1) >= 0)
            #expect((hit["ts"] as? String)?.hasSuffix("Z") == true)
            let miss = try #require(accessLine(missing.header("X-Request-Id")))
            #expect(miss["status"] as? Int == 404 && miss["path"] as? String == "/nowhere" && miss["upstream"] == nil)
            // The line names the trace and the gateway's span: what the upstream got as its parent.
            let echoed = try JSONSerialization.jsonObject(with: Data(found.body)) as? [String: Any]
            let sent = try #require(((echoed?["headers"] as? [String: String])?["traceparent"]).flatMap(TraceParent.init))
            #expect(hit["trace_id"] as? String == sent.traceID && hit["span_id"] as? String == TraceParent.hex(sent.parentID))
            #expect((miss["trace_id"] as? String)?.utf8.count == 32 && (miss["span_id"] as? String)?.utf8.count == 16, "a refusal is traced too")
            run.gateway.signal(SIGTERM)
            #expect(try await run.gateway.waitForExit() == 0)
        }
    }

    @Test func aStalledRequestGets408AndAnIdleConnectionIsClosed() async throws {
        try await withGatewayProcess(arguments: ["--idle-timeout-seconds", "1"]) { run in
            let port = Int(run.base.split(separator: ":").last!)!
            // 3 of 10 promised bytes, then silence.
            let stalled = try await RawSocket.sendAndReadUntilClosed(port: port, "POST /rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            #expect(stalled.hasPrefix("HTTP/1.1 408"), "\(stalled)")
            #expect(stalled.contains(#""error":"request_timeout""#), "\(stalled)")

            // A keep-alive connection after its answer, then silence: closed, nothing more sent.
            let idle = try await RawSocket.sendAndReadUntilClosed(port: port, "GET /rooms HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(idle.hasPrefix("HTTP/1.1 200"), "\(idle)")
            #expect(idle.components(separatedBy: "HTTP/1.1 ").count == 2, "exactly one response: \(idle)")
            #expect(try await eventually { run.gateway.lines.contains { $0.contains(#""msg":"request""#) && $0.contains(#""status":408"#) } })
            run.gateway.signal(SIGTERM)
            #expect(try await run.gateway.waitForExit() == 0)
        }
    }

    @Test func theHeadLimitIsAFlagAndMetricsAreOnTheAdminPortOnly() async throws {
        try await withGatewayProcess(arguments: ["--max-header-bytes", "4096"]) { run in
            let port = try #require(Int(run.base.split(separator: ":").last ?? ""))
            let pad = { (count: Int) in
                "GET /rooms HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "p", count: count))\r\nConnection: close\r\n\r\n"
            }
            let refused = try await RawSocket.sendAndReadUntilClosed(port: port, pad(5000))
            #expect(refused.hasPrefix("HTTP/1.1 431"), "\(refused)")
            #expect(refused.contains(#""error":"request_header_fields_too_large""#), "\(refused)")
            let fits = try await RawSocket.sendAndReadUntilClosed(port: port, pad(3000))
            #expect(fits.hasPrefix("HTTP/1.1 200"), "\(fits)")
            #expect(try await eventually { run.gateway.lines.contains { $0.contains("request head too large") } }, "the refusal is logged")
            #expect(run.upstream.hits.load(ordering: .relaxed) == 1, "only the request that fits reached the upstream")

            #expect(try await HTTP.request(.GET, run.base + "/metrics").status == 404)
            let metrics = try await HTTP.request(.GET, run.admin + "/metrics")
            #expect(metrics.status == 200 && metrics.text.contains(#"portier_gateway_requests_total{route="rooms",method="GET",status="200"} 1"#))
            #expect(try await HTTP.request(.GET, run.admin + "/health/live").status == 200)
            run.gateway.signal(SIGTERM)
            #expect(try await run.gateway.waitForExit() == 0)
        }
    }

    @Test func theHeadLimitAndTheAdminPortFallBackToTheEnvironment() async throws {
        try await withUpstream { upstream, upstreamPort in
            try await TemporaryDirectory.with { dir in
                let path = dir.sub("routes.json")
                try GatewayHarness.write(routes(upstreamPort), to: path)
                let gateway = try ChildProcess(
                    ["gateway", "--port", "0", "--routes", path],
                    environment: ["PORTIER_GATEWAY_MAX_HEADER_BYTES": "2048", "PORTIER_GATEWAY_ADMIN_PORT": "0"]
                )
                let port = try await gateway.port(fromLineContaining: "gateway listening")
                let adminPort = try await gateway.port(fromLineContaining: "gateway admin listener ready")
                #expect(adminPort != 9088, "the environment's port 0, not the default")
                let head = "GET /rooms HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "p", count: 3000))\r\nConnection: close\r\n\r\n"
                let refused = try await RawSocket.sendAndReadUntilClosed(port: port, head)
                #expect(refused.hasPrefix("HTTP/1.1 431"), "\(refused)")
                #expect(upstream.hits.load(ordering: .relaxed) == 0)
                #expect(try await HTTP.request(.GET, "http://127.0.0.1:\(adminPort)/metrics").status == 200)
                gateway.signal(SIGTERM)
                #expect(try await gateway.waitForExit() == 0)
            }
        }
    }

    @Test func aMistypedNumberInTheEnvironmentStopsTheStartAndSaysWhich() async throws {
        try await TemporaryDirectory.with { dir in
            let gateway = try ChildProcess(["gateway", "--port", "0", "--routes", dir.sub("routes.json")], environment: ["PORTIER_GATEWAY_ADMIN_PORT": "nine"])
            #expect(try await gateway.waitForExit() == 64, "not the default port in its place")
            #expect(gateway.lines.contains { $0.contains("PORTIER_GATEWAY_ADMIN_PORT must be a whole number, got 'nine'") }, "\(gateway.lines)")
            let rooms = try ChildProcess(["serve", "rooms", "--port", "0", "--data-dir", dir.sub("data")], environment: ["PORTIER_ROOMS_ADMIN_PORT": "90x1"])
            #expect(try await rooms.waitForExit() == 64)
            #expect(rooms.lines.contains { $0.contains("PORTIER_ROOMS_ADMIN_PORT must be a port number, got '90x1'") }, "\(rooms.lines)")
        }
    }

    @Test func aBusyAdminPortStopsTheStart() async throws {
        try await withUpstream { _, upstreamPort in
            try await TemporaryDirectory.with { dir in
                let path = dir.sub("routes.json")
                try GatewayHarness.write(routes(upstreamPort), to: path)
                // The upstream's port is taken: the gateway must not start without its admin listener.
                let gateway = try ChildProcess(["gateway", "--port", "0", "--admin-port", String(upstreamPort), "--routes", path])
                #expect(try await gateway.waitForExit() != 0)
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
