import Foundation
import Logging
import PortierTestSupport
import PostgresNIO
import Testing

/// `portier gateway --database`: replicas that share their rate limits through PostgreSQL, as
/// real processes on one throwaway database.
@Suite struct RateLimitSharingTests {
    /// One public route limited by address: every request of the test is the same client (one key).
    static let burst = 10.0
    static let perSecond = 0.25

    static func routes(upstreamPort: Int, perSecond: Double = perSecond, burst: Double = burst) -> [String: Any] {
        [
            "routes": [
                [
                    "id": "open", "path": "/open", "upstreams": ["http://127.0.0.1:\(upstreamPort)"], "public": true,
                    "rateLimit": ["perSecond": perSecond, "burst": burst, "key": "ip", "syncMillis": 20],
                ]
            ]
        ]
    }

    struct Replica: Sendable {
        let process: ChildProcess
        let base: String
        let admin: String

        func get(_ path: String) async throws -> Int {
            try await HTTP.request(.GET, base + path).status
        }

        /// A counter or gauge from the admin listener's /metrics (0 when the series is absent).
        func metric(_ series: String) async throws -> Double {
            let text = try await HTTP.request(.GET, admin + "/metrics").text
            let line = text.split(separator: "\n").first { $0.hasPrefix(series + " ") }
            return line.flatMap { Double($0.dropFirst(series.count + 1)) } ?? 0
        }

        func syncs(_ result: String = "ok") async throws -> Int {
            Int(try await metric(#"portier_gateway_rate_limit_syncs_total{result=""# + result + #""}"#))
        }
    }

    /// `count` gateway processes on one routes file, in front of one upstream, each with
    /// `--database url` when a URL is given.
    func withGateways<T: Sendable>(
        _ count: Int, database: String?, routes: @escaping @Sendable (Int) -> [String: Any] = { routes(upstreamPort: $0) },
        _ body: @Sendable ([Replica]) async throws -> T
    ) async throws -> T {
        let upstream = TestUpstream(name: "a")
        let signal = PortSignal()
        return try await LiveServer.run(upstream.application(onServerRunning: signal.callback), port: signal) { upstreamPort in
            try await TemporaryDirectory.with { dir in
                let path = dir.sub("routes.json")
                try GatewayHarness.write(routes(upstreamPort), to: path)
                var replicas: [Replica] = []
                for _ in 0..<count {
                    let process = try ChildProcess(
                        ["gateway", "--port", "0", "--admin-port", "0", "--routes", path] + (database.map { ["--database", $0] } ?? []),
                        environment: ["PORTIER_DATABASE_URL": ""]
                    )
                    let port = try await process.port(fromLineContaining: "gateway listening")
                    let admin = try await process.port(fromLineContaining: "gateway admin listener ready")
                    replicas.append(Replica(process: process, base: "http://127.0.0.1:\(port)", admin: "http://127.0.0.1:\(admin)"))
                }
                let result = try await body(replicas)
                for replica in replicas { replica.process.signal(SIGTERM) }
                for replica in replicas { #expect(try await replica.process.waitForExit() == 0) }
                return result
            }
        }
    }

    /// Waits until every replica has finished `rounds` more exchanges than when called. Two rounds
    /// are needed for one that began after the call: the first may have started before it.
    func waitForRounds(_ replicas: [Replica], _ rounds: Int = 2) async throws {
        var targets: [Int] = []
        for replica in replicas { targets.append(try await replica.syncs() + rounds) }
        let deadline = ContinuousClock.now + .seconds(60)
        for (replica, target) in zip(replicas, targets) {
            while try await replica.syncs() < target {
                guard ContinuousClock.now < deadline else { throw ChildProcessError("no exchange with PostgreSQL within 60 s") }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// What the client sees when it sends requests in pairs, one to each gateway in turn, until it
    /// has sent twice what one limit allows over the time taken, with `between` after each pair.
    struct Outcome {
        var sent = 0
        var admitted = 0
        var admittedPerReplica = [0, 0]
        /// From before the first request to after the last response.
        var seconds = 0.0

        /// One limit over that time: the burst, and the refill meanwhile.
        var limit: Double { RateLimitSharingTests.burst + RateLimitSharingTests.perSecond * seconds }
    }

    func sendTwiceTheLimit(_ replicas: [Replica], between: @Sendable () async throws -> Void) async throws -> Outcome {
        var outcome = Outcome()
        let started = ContinuousClock.now
        while outcome.sent < 400 {
            for (index, replica) in replicas.enumerated() {
                let status = try await replica.get("/open")
                #expect(status == 200 || status == 429)
                if status == 200 {
                    outcome.admitted += 1
                    outcome.admittedPerReplica[index] += 1
                }
                outcome.sent += 1
            }
            outcome.seconds = Self.seconds(ContinuousClock.now - started)
            if Double(outcome.sent) >= 2 * outcome.limit { break }
            try await between()
        }
        return outcome
    }

    /// The README's bound, for this client: one limit over the time taken, plus what the other
    /// replica admitted that the one deciding did not know of yet. Here the client waits after
    /// each pair until both gateways have pushed and then read the cluster's level, so the one
    /// request of the pair that went to the other gateway is all that can be unknown.
    static func bound(_ outcome: Outcome) -> Double { outcome.limit + 1 }

    @Test func twoGatewaysOnOneDatabaseAdmitOneClientsLimitOnce() async throws {
        let database = try await PostgresServer.database("ratelimit")
        try await withGateways(2, database: database) { replicas in
            try await waitForRounds(replicas, 1)
            let outcome = try await sendTwiceTheLimit(replicas) {
                try await waitForRounds(replicas)  // both pushed this pair
                try await waitForRounds(replicas)  // both took the cluster's level back
            }
            #expect(Double(outcome.sent) >= 2 * outcome.limit, "twice the limit was sent: \(outcome)")
            #expect(
                Double(outcome.admitted) <= Self.bound(outcome),
                "admitted \(outcome.admitted) of \(outcome.sent) in \(outcome.seconds) s; bound \(Self.bound(outcome)): \(outcome)"
            )
            #expect(outcome.admitted >= Int(Self.burst), "the client got its burst: \(outcome)")
            #expect(outcome.admittedPerReplica.allSatisfy { $0 > 0 }, "both gateways admitted some: \(outcome)")

            // The cluster's bucket is one row, in the gateway's own schema, spent.
            let rows = try await Self.query(database, "SELECT route, key, tokens FROM portier_gateway.rate_limits").map {
                try $0.decode((String, String, Double).self)
            }
            #expect(rows.count == 1)
            #expect(rows.first?.0 == "open" && rows.first?.1 == "ip:127.0.0.1")
            #expect((rows.first?.2 ?? 99) < 1, "no whole token left: \(rows)")
        }
    }

    /// The same client and load without a database: each gateway has the whole limit to itself,
    /// and together they admit about twice the bound above. This is what the test above guards.
    @Test func withoutADatabaseEachGatewayAdmitsTheWholeLimit() async throws {
        try await withGateways(2, database: nil) { replicas in
            let outcome = try await sendTwiceTheLimit(replicas) {}
            #expect(Double(outcome.admitted) > Self.bound(outcome), "admitted \(outcome.admitted), bound \(Self.bound(outcome)): \(outcome)")
            #expect(try await replicas[0].metric(#"portier_gateway_rate_limit_syncs_total{result="ok"}"#) == 0)
        }
    }

    @Test func whilePostgreSQLIsAwayEachGatewayLimitsOnItsOwnAndSaysSoOnce() async throws {
        let server = try await PostgresServer.startPrivate()
        defer { server.shutdown() }
        let database = try await server.createDatabase("away")
        try await server.stop()
        // Hardly any refill: a loaded machine taking seconds over the burst must not earn a token back.
        try await withGateways(1, database: database, routes: { Self.routes(upstreamPort: $0, perSecond: 0.001) }) { replicas in
            let gateway = replicas[0]
            #expect(try await HTTP.request(.GET, gateway.admin + "/health/ready").status == 200, "readiness does not depend on the database")
            #expect(try await eventually { try await gateway.syncs("failed") >= 3 }, "failed exchanges are counted")
            let warnings = gateway.process.lines.filter { $0.contains("rate limits are counted per replica") }
            #expect(warnings.count == 1, "said once, not per attempt: \(warnings)")
            for _ in 0..<Int(Self.burst) { #expect(try await gateway.get("/open") == 200) }
            #expect(try await gateway.get("/open") == 429, "the local limit holds meanwhile")
            #expect(try await gateway.metric("portier_gateway_rate_limit_sync_age_seconds") > 0)

            // Back: sharing resumes by itself, and the cluster learns what this replica admitted
            // meanwhile (at most one burst), so its client does not start the next burst afresh.
            try await server.start()
            try await waitForRounds(replicas, 1)
            #expect(try await eventually { gateway.process.lines.contains { $0.contains("rate limits are shared with the other replicas") } })
            let tokens = try await Self.query(database, "SELECT tokens FROM portier_gateway.rate_limits").map { try $0.decode(Double.self) }
            // Not exactly 0: the bucket refills 0.001 tokens/s between the charge and the read. Uncharged
            // it would hold about ten; charged, no whole token is left.
            #expect(tokens.count == 1 && (tokens.first ?? 99) < 1, "the ten requests admitted while it was away were charged: \(tokens)")
        }
    }

    @Test func rowsGoOnceTheirBucketIsFullAgain() async throws {
        let database = try await PostgresServer.database("expiry")
        // Two tokens refilling at 0.05/s: full again 20 s after the request, so the row is there for
        // that long (a loaded machine's slow polls still see it) and then goes.
        try await withGateways(1, database: database, routes: { Self.routes(upstreamPort: $0, perSecond: 0.05, burst: 2) }) { replicas async throws in
            #expect(try await replicas[0].get("/open") == 200)
            @Sendable func rows() async throws -> Int {
                try await Self.query(database, "SELECT count(*)::int8 FROM portier_gateway.rate_limits").first.map { Int(try $0.decode(Int64.self)) } ?? -1
            }
            #expect(try await eventually(timeout: .seconds(60)) { try await rows() == 1 }, "the key's usage reached the table")
            #expect(try await eventually(timeout: .seconds(120)) { try await rows() == 0 }, "and left it once refilled")
        }
    }

    /// The rows of one query, over a connection of its own.
    static func query(_ url: String, _ sql: String) async throws -> [PostgresRow] {
        guard let components = URLComponents(string: url), let port = components.port else { throw ChildProcessError("bad URL \(url)") }
        let configuration = PostgresConnection.Configuration(
            host: "127.0.0.1", port: port, username: "portier", password: nil, database: String(components.path.dropFirst()), tls: .disable
        )
        let logger = Logger(label: "test-postgres")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            var rows: [PostgresRow] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) { rows.append(row) }
            try await connection.close()
            return rows
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
