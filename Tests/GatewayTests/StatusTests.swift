import AsyncHTTPClient
import Foundation
import NIOCore
import PortierTestSupport
import Testing

/// The admin listener's status endpoints (/status.json, /status, /status/events, POST
/// /admin/reload) against a real gateway, token server and upstream.
@Suite struct StatusTests {
    static func routes(_ ports: GatewayHarness.Ports) -> [String: Any] {
        [
            "auth": ports.auth_,
            "routes": [
                [
                    "id": "rooms", "path": "/rooms", "upstreams": [ports.upstream("a")], "scopes": GatewayHarness.readWrite,
                    "rateLimit": ["perSecond": 0.01, "burst": 10, "key": "client"],
                ],
                [
                    "id": "pay", "path": "/fail", "upstreams": [ports.upstream("a")], "public": true,
                    "circuitBreaker": ["failureRatePercent": 50, "minimumCalls": 4, "windowSeconds": 60, "openSeconds": 30, "halfOpenCalls": 1],
                ],
            ],
        ]
    }

    static func status(_ gw: GatewayHarness, headers: [(String, String)] = []) async throws -> [String: Any] {
        let response = try await HTTP.request(.GET, gw.admin + "/status.json", headers: headers)
        guard response.status == 200 else { throw HarnessError("/status.json answered \(response.status): \(response.text)") }
        return response.json
    }

    static func route(_ id: String, in status: [String: Any]) -> [String: Any]? {
        (status["routes"] as? [[String: Any]])?.first { $0["id"] as? String == id }
    }

    static func reload(_ status: [String: Any]) -> [String: Any]? {
        (status["routeTable"] as? [String: Any])?["lastReload"] as? [String: Any]
    }

    @Test func statusJSONShowsRoutesTrafficBreakersLimitsAndKeys() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let token = try await gw.token()
            for _ in 0..<3 { #expect(try await gw.get("/rooms", token: token).status == 200) }
            gw.upstreams["a"]?.failing.store(true, ordering: .relaxed)
            for _ in 0..<4 { #expect(try await gw.get("/fail").status == 500) }
            #expect(try await gw.get("/fail").status == 503, "the breaker is open")

            var status = try await Self.status(gw)
            let pay = try #require(Self.route("pay", in: status))
            let breaker = try #require(pay["breaker"] as? [String: Any])
            #expect(breaker["state"] as? String == "open")
            let trial = try #require(breaker["secondsToTrial"] as? Double)
            #expect(trial > 0 && trial <= 30, "seconds to the next trial: \(trial)")
            #expect((pay["upstreams"] as? [[String: Any]])?.first?["url"] as? String == gw.ports.upstream("a"))
            #expect((pay["upstreams"] as? [[String: Any]])?.first?["state"] as? String == "up")

            let rooms = try #require(Self.route("rooms", in: status))
            #expect((rooms["breaker"] as? [String: Any])?["state"] as? String == "closed", "the default breaker, untouched")
            #expect((rooms["breaker"] as? [String: Any])?["secondsToTrial"] == nil)
            let limit = try #require(rooms["rateLimit"] as? [String: Any])
            #expect(limit["burst"] as? Int == 10 && limit["key"] as? String == "client")
            let busiest = try #require((limit["busiest"] as? [[String: Any]])?.first)
            #expect(busiest["key"] as? String == "client:hotel-client")
            let used = try #require(busiest["used"] as? Double)
            #expect(used >= 2.5 && used <= 3, "three requests from one client, refilling one per 100 s: \(used)")

            // The minute counts whole seconds: wait for the one with the requests to close.
            #expect(
                try await eventually {
                    let minute = Self.route("pay", in: try await Self.status(gw))?["lastMinute"] as? [String: Any]
                    return minute?["requests"] as? Int == 5
                })
            status = try await Self.status(gw)
            let minute = try #require(Self.route("pay", in: status)?["lastMinute"] as? [String: Any])
            #expect(minute["errorRate"] as? Double == 1, "four 500s and the breaker's 503: every answer failed")
            let p99 = try #require(minute["p99Millis"] as? Double)
            #expect(p99 > 0)
            let series = try #require(minute["series"] as? [String: Any])
            let perSecond = try #require(series["requests"] as? [Int])
            #expect(perSecond.count == 60 && perSecond.reduce(0, +) == 5)
            let roomsMinute = try #require(Self.route("rooms", in: status)?["lastMinute"] as? [String: Any])
            #expect(roomsMinute["requests"] as? Int == 3 && roomsMinute["errorRate"] as? Double == 0)

            let table = try #require(status["routeTable"] as? [String: Any])
            #expect(table["version"] as? Int == 0 && table["routes"] as? Int == 2)
            #expect(Self.reload(status)?["outcome"] as? String == "ok" && Self.reload(status)?["reason"] as? String == "start")
            let auth = try #require(status["auth"] as? [String: Any])
            #expect((auth["keys"] as? [String])?.isEmpty == false, "the key that signed the token is known")
            #expect(
                try await eventually {
                    let feed = (try await Self.status(gw)["auth"] as? [String: Any])?["revocationFeed"] as? [String: Any]
                    return feed?["fresh"] as? Bool == true && feed?["ageSeconds"] is Double
                })
        }
    }

    @Test func aRejectedRoutesFileIsShownAndAdminReloadSaysWhy() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            try Data("{\"routes\": [{\"id\": \"rooms\"}]}".utf8).write(to: URL(fileURLWithPath: gw.routesPath))
            #expect(
                try await eventually {
                    Self.reload(try await Self.status(gw))?["outcome"] as? String == "rejected"
                })
            let status = try await Self.status(gw)
            let error = try #require(Self.reload(status)?["error"] as? String)
            #expect(error.contains("route 'rooms'"), "the validation message: \(error)")
            #expect(Self.reload(status)?["reason"] as? String == "file changed")
            #expect((status["routeTable"] as? [String: Any])?["version"] as? Int == 0, "the previous table keeps serving")
            let quiet = (Self.route("pay", in: status)?["lastMinute"] as? [String: Any])?["series"] as? [String: Any]
            #expect((quiet?["requests"] as? [Int]) == Array(repeating: 0, count: 60), "a route without traffic has 60 quiet seconds")

            let refused = try await HTTP.request(.POST, gw.admin + "/admin/reload")
            #expect(refused.status == 422)
            #expect(refused.json["error"] as? String == "routes_rejected")
            #expect((refused.json["error_description"] as? String)?.contains("route 'rooms'") == true, "\(refused.text)")

            try GatewayHarness.write(Self.routes(gw.ports), to: gw.routesPath)
            let reloaded = try await HTTP.request(.POST, gw.admin + "/admin/reload")
            #expect(reloaded.status == 200, "\(reloaded.text)")
            #expect(reloaded.json["status"] as? String == "reloaded")
            let version = try #require(reloaded.json["version"] as? Int)
            #expect(version >= 1)
            let after = try await Self.status(gw)
            #expect(Self.reload(after)?["outcome"] as? String == "ok")
            #expect((after["routeTable"] as? [String: Any])?["version"] as? Int == version)

            let wrongMethod = try await HTTP.request(.GET, gw.admin + "/admin/reload")
            #expect(wrongMethod.status == 405 && wrongMethod.header("Allow")?.contains("POST") == true)
        }
    }

    @Test func thePageIsSelfContainedAndTheEventsStream() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let page = try await HTTP.request(.GET, gw.admin + "/status")
            #expect(page.status == 200)
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(page.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
            #expect(page.text.contains("status/events"))
            for external in ["<link", " src=", "href=", "@import", "url("] {
                #expect(!page.text.contains(external), "no external asset (\(external))")
            }
            let head = try await HTTP.request(.HEAD, gw.admin + "/status")
            #expect(head.status == 200 && head.body.isEmpty)
            let put = try await HTTP.request(.PUT, gw.admin + "/status")
            #expect(put.status == 405 && put.header("Allow")?.contains("GET") == true)

            // Two events, a second apart, each a whole status document.
            var request = HTTPClientRequest(url: gw.admin + "/status/events")
            request.headers.add(name: "Accept", value: "text/event-stream")
            let response = try await HTTP.client.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
            var text = ""
            var documents: [[String: Any]] = []
            for try await chunk in response.body {
                text += String(buffer: chunk)
                while let end = text.range(of: "\n\n") {
                    let message = text[..<end.lowerBound]
                    text = String(text[end.upperBound...])
                    #expect(message.hasPrefix("event: status\ndata: "))
                    let data = Data(message.dropFirst("event: status\ndata: ".count).utf8)
                    if let document = try JSONSerialization.jsonObject(with: data) as? [String: Any] { documents.append(document) }
                }
                if documents.count >= 2 { break }
            }
            #expect(documents.count == 2)
            #expect(documents.allSatisfy { Self.route("pay", in: $0) != nil })
            #expect(documents.first?["generatedAt"] is String)
        }
    }

    @Test func onLoopbackOnlyLoopbackHostsAndSameSiteChangesAreServed() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let rebound = try await HTTP.request(.GET, gw.admin + "/status.json", headers: [("Host", "attacker.example:9088")])
            #expect(rebound.status == 403, "a name rebound to 127.0.0.1 reads nothing")
            #expect(rebound.json["error"] as? String == "forbidden")
            #expect(try await HTTP.request(.GET, gw.admin + "/metrics", headers: [("Host", "localhost:9088")]).status == 200)
            let forged = try await HTTP.request(.POST, gw.admin + "/admin/reload", headers: [("Origin", "http://attacker.example")])
            #expect(forged.status == 403, "another site's form cannot reload")
            #expect(try await HTTP.request(.POST, gw.admin + "/admin/reload", headers: [("Sec-Fetch-Site", "cross-site")]).status == 403)
            let own = try await HTTP.request(.POST, gw.admin + "/admin/reload", headers: [("Origin", gw.admin)])
            #expect(own.status == 200, "the status page's own origin may: \(own.text)")
        }
    }

    @Test func beyondLoopbackTheAdminListenerNeedsAnAdminToken() async throws {
        try await GatewayHarness.run(adminHost: "0.0.0.0", routes: Self.routes) { gw in
            let none = try await HTTP.request(.GET, gw.admin + "/metrics")
            #expect(none.status == 401)
            #expect(none.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect(try await HTTP.request(.GET, gw.admin + "/status.json").status == 401)
            #expect(try await HTTP.request(.POST, gw.admin + "/admin/reload").status == 401, "no reload without a token")
            #expect(try await HTTP.request(.GET, gw.admin + "/health/live").status == 200, "probes need no token")
            let page = try await HTTP.request(.GET, gw.admin + "/status")
            #expect(page.status == 200 && page.header("Content-Type")?.hasPrefix("text/html") == true, "the page holds no data: a browser loads it first")
            #expect(try await HTTP.request(.POST, gw.admin + "/status").status == 401, "only GET and HEAD pass without a token")

            let ordinary = try await gw.token()
            let refused = try await HTTP.request(.GET, gw.admin + "/status.json", headers: [HTTP.bearer(ordinary)])
            #expect(refused.status == 403)
            #expect(refused.json["error"] as? String == "insufficient_scope")
            #expect(try await HTTP.request(.GET, gw.admin + "/metrics", headers: [HTTP.bearer("not.a.token")]).status == 401)

            let (_, secret) = try await ClientStoreAccess.open(gw).add(id: "ops", scopes: ["admin"], authorities: [])
            let admin = try await gw.token(scope: "admin", client: "ops", secret: secret)
            #expect(try await HTTP.request(.GET, gw.admin + "/metrics", headers: [HTTP.bearer(admin)]).status == 200)
            let status = try await Self.status(gw, headers: [HTTP.bearer(admin)])
            #expect(Self.route("rooms", in: status) != nil)
            #expect(try await HTTP.request(.POST, gw.admin + "/admin/reload", headers: [HTTP.bearer(admin)]).status == 200)
            #expect(try await gw.get("/rooms", token: ordinary).status == 200, "the public port is unchanged")
        }
    }
}
