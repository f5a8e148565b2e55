import EventBus
import Foundation
import Logging
import PortierTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Every process's /metrics on its admin listener, scraped after real traffic over real sockets:
/// the values a user would see in Prometheus.
@Suite struct MetricsTests {
    /// A token server on its own, its admin listener on port 0.
    struct AuthProcess {
        let process: ChildProcess
        let port: Int
        let adminPort: Int
        let secret: String
        var url: String { "http://127.0.0.1:\(port)" }
        var metricsURL: String { "http://127.0.0.1:\(adminPort)/metrics" }

        static func start(in dir: TemporaryDirectory, extra: [String] = []) async throws -> AuthProcess {
            let process = try ChildProcess(
                [
                    "auth", "--port", "0", "--admin-port", "0", "--data-dir", dir.sub("data"), "--keys-dir", dir.sub("keys"), "--issuer",
                    "http://auth.test",
                ]
                    + extra
            )
            let port = try await process.port(fromLineContaining: "token server listening")
            let adminPort = try await process.port(fromLineContaining: "admin listener ready")
            let line = try await process.waitForLine(containing: "client_secret:")
            let secret = try #require(line.split(separator: " ").last.map(String.init))
            return AuthProcess(process: process, port: port, adminPort: adminPort, secret: secret)
        }

        func token(_ id: String, _ secret: String) async throws -> TestHTTPResponse {
            try await HTTP.form(url + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic(id, secret)])
        }

        func scrape(headers: [(String, String)] = []) async throws -> PrometheusText {
            let response = try await HTTP.request(.GET, metricsURL, headers: headers)
            guard response.status == 200 else { throw ChildProcessError("/metrics answered \(response.status): \(response.text)") }
            return PrometheusText(response.text)
        }
    }

    @Test func tokenServerCountsTokensPerClientFailuresThrottlingAndSigning() async throws {
        try await TemporaryDirectory.with("auth-metrics") { dir in
            let auth = try await AuthProcess.start(in: dir)
            defer { auth.process.signal(SIGKILL) }
            // Twice: the first is checked by the slow path (PBKDF2), the second by the event-loop fast path.
            #expect(try await auth.token("hotel-client", auth.secret).status == 200)
            #expect(try await auth.token("hotel-client", auth.secret).status == 200)
            #expect(try await auth.token("hotel-client", "not-the-secret-at-all").status == 401)
            #expect(try await auth.token("nobody", "not-the-secret-at-all").status == 401)
            #expect(try await HTTP.form(auth.url + "/oauth/token", [("grant_type", "client_credentials")]).status == 401)
            let garbled = try await HTTP.form(
                auth.url + "/oauth/token", [("grant_type", "client_credentials")], headers: [("Authorization", "Basic !!!")])
            #expect(garbled.status == 401)

            var metrics = try await auth.scrape()
            #expect(metrics.value("portier_auth_tokens_issued_total", ["client_id": "hotel-client"]) == 2, "\(metrics)")
            #expect(metrics.types["portier_auth_tokens_issued_total"] == "counter")
            #expect(metrics.help["portier_auth_tokens_issued_total"] != nil)
            #expect(metrics.value("portier_auth_authentication_failures_total", ["reason": "wrong_secret"]) == 1)
            #expect(metrics.value("portier_auth_authentication_failures_total", ["reason": "unknown_client"]) == 1)
            #expect(metrics.value("portier_auth_authentication_failures_total", ["reason": "missing_credentials"]) == 1)
            #expect(metrics.value("portier_auth_authentication_failures_total", ["reason": "malformed_credentials"]) == 1)
            #expect(metrics.value("portier_auth_token_signing_duration_seconds_count") == 2)
            #expect((metrics.value("portier_auth_token_signing_duration_seconds_sum") ?? 0) > 0)
            #expect(
                metrics.value("portier_auth_requests_total", ["route": "/oauth/token", "method": "POST", "status": "200"]) == 2,
                "fast path counted too")
            #expect(metrics.value("portier_auth_requests_total", ["route": "/oauth/token", "method": "POST", "status": "401"]) == 4)
            #expect(metrics.value("portier_auth_throttled_requests_total") == 0)

            // Guessing from one address is stopped with 429s, each of them counted.
            var throttled = 0
            for attempt in 0..<20 where throttled < 2 {
                if try await auth.token("guess-\(attempt)", "not-the-secret-at-all").status == 429 { throttled += 1 }
            }
            #expect(throttled == 2)
            metrics = try await auth.scrape()
            #expect(metrics.value("portier_auth_throttled_requests_total") == 2, "\(metrics)")
            #expect(metrics.value("portier_auth_requests_total", ["route": "/oauth/token", "status": "429"]) == 2)

            // The public port serves no metrics.
            #expect(try await HTTP.request(.GET, auth.url + "/metrics").status == 404)
        }
    }

    /// Bound beyond loopback (0.0.0.0 here, reached over 127.0.0.1), the admin listener asks for a
    /// token with scope admin, checked with the token server's own keys; the health probes stay
    /// open. A service told `--admin-require-token` on loopback checks it against the JWKS.
    @Test func adminListenerBeyondLoopbackRequiresAnAdminToken() async throws {
        try await TemporaryDirectory.with("admin-token") { dir in
            let auth = try await AuthProcess.start(in: dir, extra: ["--admin-host", "0.0.0.0"])
            defer { auth.process.signal(SIGKILL) }
            let opsSecret = "ops-secret-0123456789abcdef"
            let added = try ChildProcess(["clients", "add", "ops", "--scopes", "admin", "--secret", opsSecret, "--data-dir", dir.sub("data")])
            #expect(try await added.waitForExit() == 0)
            let ops = try #require(try await auth.token("ops", opsSecret).json["access_token"] as? String)
            let guest = try #require(try await auth.token("hotel-client", auth.secret).json["access_token"] as? String)

            let rooms = try ChildProcess([
                "serve", "rooms", "--port", "0", "--admin-port", "0", "--admin-require-token", "--data-dir", dir.sub("data"),
                "--auth-url", auth.url, "--issuer", "http://auth.test",
            ])
            defer { rooms.signal(SIGKILL) }
            let roomsAdmin = try await rooms.port(fromLineContaining: "admin listener ready")

            for (name, base) in [("auth", "http://127.0.0.1:\(auth.adminPort)"), ("rooms", "http://127.0.0.1:\(roomsAdmin)")] {
                let none = try await HTTP.request(.GET, base + "/metrics")
                #expect(none.status == 401, "\(name)")
                #expect(none.header("WWW-Authenticate")?.hasPrefix("Bearer realm=\"portier-admin\"") == true, "\(name)")
                #expect(none.json["error"] as? String == "unauthorized", "\(name): \(none.text)")

                let forged = try await HTTP.request(.GET, base + "/metrics", headers: [HTTP.bearer(guest + "x")])
                #expect(forged.status == 401, "\(name)")
                #expect(forged.header("WWW-Authenticate")?.contains("error=\"invalid_token\"") == true, "\(name)")

                let noScope = try await HTTP.request(.GET, base + "/metrics", headers: [HTTP.bearer(guest)])
                #expect(noScope.status == 403, "\(name)")
                #expect(noScope.json["error"] as? String == "insufficient_scope", "\(name)")
                #expect(noScope.header("WWW-Authenticate")?.contains("scope=\"admin\"") == true, "\(name)")

                let allowed = try await HTTP.request(.GET, base + "/metrics", headers: [HTTP.bearer(ops)])
                #expect(allowed.status == 200, "\(name): \(allowed.text)")
                #expect(allowed.text.contains("# TYPE portier_\(name)_"), "\(name)")

                #expect(try await HTTP.request(.GET, base + "/health/live").status == 200, "\(name): probes need no token")
            }
        }
    }

    /// While its database is away the token server cannot tell a revoked admin token from a good
    /// one: its admin listener answers 503 with `Retry-After` (a scraper sees "degraded", not "wrong
    /// token"), and takes the same token again once the database is back.
    @Test func theTokenServersAdminCheckAnswers503WhileItsDatabaseIsAway() async throws {
        // A cluster of its own: stopping the shared one would fail the tests running beside this one.
        let server = try await PostgresServer.startPrivate()
        defer { server.shutdown() }
        let url = try await server.createDatabase("admin")
        try await TemporaryDirectory.with("admin-503") { dir in
            let auth = try await AuthProcess.start(in: dir, extra: ["--admin-require-token", "--database", url])
            defer { auth.process.signal(SIGKILL) }
            let opsSecret = "ops-secret-0123456789abcdef"
            let added = try ChildProcess(["clients", "add", "ops", "--scopes", "admin", "--secret", opsSecret, "--database", url])
            #expect(try await added.waitForExit() == 0)
            let ops = try #require(try await auth.token("ops", opsSecret).json["access_token"] as? String)
            @Sendable func scrape() async throws -> TestHTTPResponse { try await HTTP.request(.GET, auth.metricsURL, headers: [HTTP.bearer(ops)]) }
            #expect(try await scrape().status == 200)

            try await server.stop(immediately: true)
            #expect(try await eventually { try await scrape().status == 503 })
            let away = try await scrape()
            #expect(away.header("Retry-After") == "1", "\(away.text)")
            #expect(away.json["error"] as? String == "service_unavailable", "\(away.text)")
            #expect(away.header("WWW-Authenticate") == nil, "not a refusal of the token")

            try await server.start()
            #expect(try await eventually(timeout: .seconds(60)) { try await scrape().status == 200 }, "the same token is taken again")
        }
    }

    /// The services' request metrics (by route template) and the event-driven part: relayed and
    /// handled events, a stopped consumer's lag growing and going back to 0, a dead letter; and the
    /// gateway's upstream connections and JWKS refreshes.
    @Test(arguments: HotelStack.LogEngine.allCases) func servicesAndEventBusShowWhatHappened(eventLog: HotelStack.LogEngine) async throws {
        try await HotelStack.run(eventLog: eventLog) { hotel in
            let room = try await hotel.registerRoom()
            #expect(try await hotel.get("/rooms/\(room)").status == 200)
            let booked = try await hotel.book(room: room, guest: 7, nightsFromNow: 10)
            #expect(booked.status == 201, "\(booked.text)")

            let rooms = try await hotel.metrics("rooms")
            #expect(rooms.value("portier_rooms_requests_total", ["route": "/rooms", "method": "POST", "status": "201"]) == 1, "\(rooms)")
            #expect(rooms.value("portier_rooms_requests_total", ["route": "/rooms/{id}", "method": "GET", "status": "200"]) == 1)
            #expect(!rooms.labelValues("portier_rooms_requests_total", "route").contains("/rooms/\(room)"), "never the raw path")
            #expect(rooms.value("portier_rooms_request_duration_seconds_count", ["route": "/rooms"]) == 1)
            #expect(rooms.types["portier_rooms_request_duration_seconds"] == "histogram")

            // The booking left books' outbox for the log; every consumer handled what it cares about.
            #expect(
                try await eventually {
                    let books = try await hotel.metrics("books")
                    return books.value("portier_books_events_relayed_total") ?? 0 >= 1 && books.value("portier_books_outbox_events") == 0
                        && books.value("portier_books_events_handled_total", ["group": "books", "outcome": "processed"]) ?? 0 >= 1
                        && books.value("portier_books_requests_total", ["route": "/books", "method": "POST", "status": "201"]) == 1
                })
            for service in ["rooms", "notifications", "mypages"] {
                #expect(
                    try await eventually {
                        let metrics = try await hotel.metrics(service)
                        return metrics.value("portier_\(service)_events_handled_total", ["group": service, "outcome": "processed"]) ?? 0 >= 1
                            && metrics.value("portier_\(service)_consumer_lag_events", ["group": service]) == 0
                    }, "\(service)")
            }

            // A stopped consumer falls behind: the other services' scrapes show it ...
            try await hotel.stop("notifications")
            #expect(try await hotel.book(room: room, guest: 8, nightsFromNow: 20).status == 201)
            #expect(
                try await eventually {
                    try await hotel.metrics("books").value("portier_books_consumer_lag_events", ["group": "notifications"]) ?? 0 >= 1
                })
            // ... and catches up once it is back.
            try await hotel.start(.notifications)
            #expect(
                try await eventually {
                    let own = try await hotel.metrics("notifications").value("portier_notifications_consumer_lag_events", ["group": "notifications"])
                    let seenByBooks = try await hotel.metrics("books").value("portier_books_consumer_lag_events", ["group": "notifications"])
                    return own == 0 && seenByBooks == 0
                })

            // An event no handler can read is set aside, and shows.
            #expect(try await hotel.metrics("rooms").value("portier_rooms_dead_letter_events", ["group": "rooms"]) == 0)
            try await hotel.appendUnreadableEvent(type: "Booked")
            #expect(
                try await eventually {
                    let metrics = try await hotel.metrics("rooms")
                    return metrics.value("portier_rooms_dead_letter_events", ["group": "rooms"]) == 1
                        && metrics.value("portier_rooms_events_handled_total", ["group": "rooms", "outcome": "dead_lettered"]) == 1
                })

            // The gateway: upstream connections opened and reused, the JWKS fetched.
            for _ in 0..<3 { #expect(try await hotel.get("/rooms/\(room)").status == 200) }
            let gateway = try await hotel.metrics("gateway")
            #expect(gateway.value("portier_gateway_upstream_connections_total", ["outcome": "opened"]) ?? 0 >= 1, "\(gateway)")
            #expect(gateway.value("portier_gateway_upstream_connections_total", ["outcome": "reused"]) ?? 0 >= 1)
            #expect(gateway.value("portier_gateway_jwks_refreshes_total", ["result": "ok"]) ?? 0 >= 1)
            // An upstream that is gone is a failed connection.
            try await hotel.stop("mypages")
            #expect(try await hotel.get("/mypages?guestId=7").status >= 500)
            #expect(try await hotel.metrics("gateway").value("portier_gateway_upstream_connections_total", ["outcome": "failed"]) ?? 0 >= 1)
        }
    }
}

extension HotelStack {
    /// Appends an event whose payload is not JSON to the shared log (SQLite file or PostgreSQL), as
    /// a broken publisher would: every consumer of `type` must set it aside as a dead letter.
    func appendUnreadableEvent(type: String) async throws {
        let event = EventEnvelope(type: type, bookID: 999_999, source: "test", payload: Data("{not json".utf8))
        if let databaseURL {
            try await PostgresEventLog.with(url: try PostgresURL(databaseURL), logger: Logger(label: "test")) { try await $0.append([event]) }
        } else {
            try await SQLiteEventLog(path: dataDirectory + "/events.sqlite").append([event])
        }
    }
}

/// `portier up` lists every process's admin port in its table, and each answers /metrics there
/// (and only there).
@Suite struct UpMetricsTests {
    @Test func tableListsEveryAdminPortAndEachServesMetrics() async throws {
        try await TemporaryDirectory.with("up-metrics") { dir in
            let up = try await UpSession.start(in: dir)
            defer { up.process.signal(SIGKILL) }
            #expect(up.process.lines.contains { $0.contains("SERVICE") && $0.contains("ADMIN") }, "\(up.process.lines)")
            for name in UpSession.names {
                let admin = try #require(up.adminPorts[name], "\(name) has an admin port in the table: \(up.process.lines)")
                #expect(admin > 0 && admin != up.ports[name], "\(name)")
                let metrics = try await HTTP.request(.GET, "http://127.0.0.1:\(admin)/metrics")
                #expect(metrics.status == 200, "\(name)")
                #expect(metrics.text.contains("# TYPE portier_\(name)_"), "\(name): \(metrics.text.prefix(300))")
                #expect(
                    try await HTTP.request(.GET, "http://127.0.0.1:\(up.ports[name] ?? 0)/metrics").status == 404, "\(name): not on the public port")
            }
            // A crashed service comes back with its admin listener on the port the table shows.
            let pid = try #require(up.pids["rooms"])
            try #require(pid > 1, "never kill(0) or kill(1): that would be this process group or init")
            kill(pid, SIGKILL)
            _ = try await up.process.waitForLine(containing: "rooms restarted")
            #expect(
                try await eventually {
                    try await HTTP.request(.GET, "http://127.0.0.1:\(up.adminPorts["rooms"] ?? 0)/metrics").text.contains("# TYPE portier_rooms_")
                })
            up.process.signal(SIGTERM)
            #expect(try await up.process.waitForExit() == 0)
        }
    }
}
