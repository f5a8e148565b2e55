import Logging
import PostgresNIO
import Resilience
import Tokens

/// The table through which gateway replicas share their rate limits: one row per route and key
/// holding the cluster's token bucket, its level as of `updated_at`. The database refills and
/// charges it by its own clock, so replicas whose clocks differ still agree, and a row that would
/// be full again means nothing (a missing row is a full bucket), so such rows are deleted.
public enum RateLimitStore {
    public static let schema = "portier_gateway"

    /// Applied in order, once each, by the migrator the gateway is given (see ``RateLimitSharing``).
    public static let migrations: [(name: String, statements: [String])] = [
        (
            "001_rate_limits",
            [
                """
                CREATE TABLE portier_gateway.rate_limits (
                    route text NOT NULL,
                    key text NOT NULL,
                    tokens double precision NOT NULL,
                    per_second double precision NOT NULL,
                    burst double precision NOT NULL,
                    updated_at timestamptz NOT NULL,
                    PRIMARY KEY (route, key)
                )
                """,
                "CREATE INDEX rate_limits_updated_at ON portier_gateway.rate_limits (updated_at)",
            ]
        )
    ]

    /// One route's part of an exchange: its bucket settings and what this replica admitted per key.
    struct RouteUsage {
        var route: String
        var bucket: TokenBucket.Configuration
        var usage: [KeyedRateLimiter.Usage]
    }

    /// Keys longer than this are stored as `hash:` and their SHA-256 (a B-tree entry must stay
    /// small, and the gateway's own keys start with `client:` or `ip:`, so they cannot collide).
    static let longestStoredKey = 200

    static func storedKey(_ key: String) -> String {
        guard key.utf8.count > longestStoredKey else { return key }
        return "hash:" + Crypto.sha256(Array(key.utf8)).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// One round trip: adds each key's admissions to its row (creating it full, less them) and reads
    /// the level of the keys that admitted nothing here. Returns every key's level, per route in
    /// the order given; a key without a row has a full bucket.
    ///
    /// Rows are written in (route, key) order, the same on every replica, so two replicas' exchanges
    /// wait for each other's row locks instead of deadlocking.
    static func exchange(_ routes: [RouteUsage], on connection: PostgresConnection, logger: Logger) async throws -> [[(key: String, level: Double)]] {
        var routeColumn: [String] = []
        var keyColumn: [String] = []
        var admittedColumn: [Int64] = []
        var perSecondColumn: [Double] = []
        var burstColumn: [Double] = []
        var seen: Set<RowID> = []
        for part in routes {
            for usage in part.usage {
                let stored = storedKey(usage.key)
                guard seen.insert(RowID(route: part.route, key: stored)).inserted else { continue }
                routeColumn.append(part.route)
                keyColumn.append(stored)
                admittedColumn.append(Int64(usage.admitted))
                perSecondColumn.append(part.bucket.perSecond)
                burstColumn.append(Double(part.bucket.burst))
            }
        }
        var levels: [RowID: Double] = [:]
        let rows = try await connection.query(
            """
            WITH usage AS (
                SELECT * FROM unnest(\(routeColumn)::text[], \(keyColumn)::text[], \(admittedColumn)::int8[],
                                     \(perSecondColumn)::float8[], \(burstColumn)::float8[])
                       AS u(route, key, admitted, per_second, burst)
            ), charged AS (
                INSERT INTO portier_gateway.rate_limits AS b (route, key, tokens, per_second, burst, updated_at)
                SELECT route, key, burst - admitted, per_second, burst, clock_timestamp() FROM usage
                WHERE admitted > 0
                ORDER BY route, key
                ON CONFLICT (route, key) DO UPDATE SET
                    -- refilled up to now, then charged; excluded.burst - excluded.tokens is the admitted count
                    tokens = least(excluded.burst,
                                   b.tokens + greatest(0, extract(epoch FROM clock_timestamp() - b.updated_at)::float8) * excluded.per_second)
                             - (excluded.burst - excluded.tokens),
                    per_second = excluded.per_second,
                    burst = excluded.burst,
                    updated_at = greatest(b.updated_at, clock_timestamp())
                RETURNING route, key, tokens
            )
            SELECT route, key, tokens FROM charged
            UNION ALL
            SELECT b.route, b.key, least(u.burst, b.tokens + greatest(0, extract(epoch FROM clock_timestamp() - b.updated_at)::float8) * u.per_second)
            FROM usage u JOIN portier_gateway.rate_limits b ON b.route = u.route AND b.key = u.key
            WHERE u.admitted = 0
            """,
            logger: logger
        )
        for try await (route, key, level) in rows.decode((String, String, Double).self) {
            levels[RowID(route: route, key: key)] = level
        }
        return routes.map { part in
            part.usage.map { usage in
                (usage.key, levels[RowID(route: part.route, key: storedKey(usage.key))] ?? Double(part.bucket.burst))
            }
        }
    }

    /// Deletes rows whose bucket is full again (they mean what no row means), and rows idle for a
    /// day whatever their level, so the table holds the keys in use and no more. Rows that an
    /// exchange holds are skipped, never waited for. Returns how many went.
    @discardableResult
    static func expire(on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await connection.query(
            """
            WITH gone AS (
                DELETE FROM portier_gateway.rate_limits WHERE (route, key) IN (
                    SELECT route, key FROM portier_gateway.rate_limits
                    WHERE updated_at < clock_timestamp() - interval '1 second'
                      AND (tokens + extract(epoch FROM clock_timestamp() - updated_at)::float8 * per_second >= burst
                           OR updated_at < clock_timestamp() - interval '1 day')
                    LIMIT 10000
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING 1
            )
            SELECT count(*)::int8 FROM gone
            """,
            logger: logger
        )
        var count: Int64 = 0
        for try await value in rows.decode(Int64.self) { count = value }
        return Int(count)
    }

    struct RowID: Hashable {
        var route: String
        var key: String
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
