import Foundation
import GatewayConfig
import Resilience

/// The outcome of the route table's last load or reload.
public struct ReloadRecord: Codable, Sendable, Equatable {
    /// When it happened (ISO 8601, UTC).
    public var at: String
    /// "ok", "rejected" (the file failed validation; the previous table keeps serving) or
    /// "unreadable" (the file could not be read).
    public var outcome: String
    /// What triggered it: "file changed", "SIGHUP", "admin API".
    public var reason: String
    /// Why the file was rejected.
    public var error: String?
}

/// What the status page, /status.json and `portier status` show: the gateway's live state. Built
/// on request from the current route table, breakers, limiters, balancers and the recorder.
public struct GatewayStatus: Codable, Sendable {
    public var generatedAt: String
    public var startedAt: String
    public var routeTable: RouteTableStatus
    public var routes: [RouteStatus]
    public var auth: AuthStatus?

    public struct RouteTableStatus: Codable, Sendable {
        /// Starts at 0 with the file read at start; each applied reload adds one.
        public var version: UInt64
        public var routes: Int
        public var lastReload: ReloadRecord?
    }

    public struct RouteStatus: Codable, Sendable {
        public var id: String
        public var path: String
        /// nil: every method.
        public var methods: [String]?
        public var `public`: Bool
        public var upstreams: [UpstreamStatus]
        public var breaker: BreakerStatus?
        public var rateLimit: RateLimitStatus?
        public var lastMinute: LastMinute
    }

    public struct UpstreamStatus: Codable, Sendable {
        public var url: String
        /// "up" (in rotation) or "ejected" (after a refused connection, for a while).
        public var state: String
        public var ejectedForSeconds: Double?
    }

    public struct BreakerStatus: Codable, Sendable {
        /// "closed", "open" or "half_open".
        public var state: String
        /// While open, the seconds until the next trial call.
        public var secondsToTrial: Double?
    }

    public struct RateLimitStatus: Codable, Sendable {
        public var perSecond: Double
        public var burst: Int
        /// What requests are counted by: "client" or "ip".
        public var key: String
        /// The keys that have used the most of their bucket, most used first.
        public var busiest: [KeyUsage]
    }

    public struct KeyUsage: Codable, Sendable {
        public var key: String
        /// Tokens below a full bucket (of `burst`).
        public var used: Double
    }

    /// The route's last 60 seconds, oldest first (null for a second without requests).
    public struct LastMinute: Codable, Sendable {
        public var requests: Int
        public var requestsPerSecond: Double
        /// 5xx responses (the gateway's own 502/503/504 included) over all responses.
        public var errorRate: Double?
        public var p50Millis: Double?
        public var p99Millis: Double?
        public var series: Series
    }

    public struct Series: Codable, Sendable {
        public var requests: [Int]
        public var errorRate: [Double?]
        public var p50Millis: [Double?]
        public var p99Millis: [Double?]
    }

    public struct AuthStatus: Codable, Sendable {
        public var jwksURL: String
        /// Key ids of the signing keys the gateway has loaded from the JWKS.
        public var keys: [String]
        public var revocationFeed: RevocationFeedStatus?
    }

    public struct RevocationFeedStatus: Codable, Sendable {
        public var url: String
        /// Seconds since the last good fetch; nil before the first.
        public var ageSeconds: Double?
        /// Within the staleness bound (three intervals, at least 10 s).
        public var fresh: Bool
        public var failClosed: Bool
        public var revokedTokens: Int
        public var cutOffClients: Int
        public var lastError: String?
    }
}

extension GatewayCore {
    /// Records the outcome of a load or reload of routes.json for the status page.
    @discardableResult
    func noteReload(outcome: String, reason: String, error: String? = nil) -> ReloadRecord {
        let record = ReloadRecord(at: Self.timestamp(Date()), outcome: outcome, reason: reason, error: error)
        lastReload.withLock { $0 = record }
        return record
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
    }

    /// The gateway's state now.
    func status(now: ContinuousClock.Instant = .now) -> GatewayStatus {
        let snapshot = currentSnapshot
        let routes = snapshot.table.routes.sorted { $0.settings.path < $1.settings.path }
        return GatewayStatus(
            generatedAt: Self.timestamp(Date()),
            startedAt: Self.timestamp(startedAt),
            routeTable: .init(version: snapshot.version, routes: routes.count, lastReload: lastReload.withLock { $0 }),
            routes: routes.map { routeStatus($0, now: now) },
            auth: snapshot.auth.map { authStatus($0, now: now) }
        )
    }

    private func routeStatus(_ route: Route, now: ContinuousClock.Instant) -> GatewayStatus.RouteStatus {
        let ejections = route.balancer.ejections(now: now)
        let upstreams = route.balancer.upstreams.enumerated().map { index, upstream in
            let ejected = index < ejections.count ? ejections[index] : nil
            return GatewayStatus.UpstreamStatus(
                url: upstream.origin + upstream.basePath, state: ejected == nil ? "up" : "ejected", ejectedForSeconds: ejected.map(Self.seconds)
            )
        }
        let breaker = route.breaker.map { breaker in
            let (state, untilTrial) = breaker.snapshot(now: now)
            return GatewayStatus.BreakerStatus(state: state.rawValue, secondsToTrial: untilTrial.map(Self.seconds))
        }
        var rateLimit: GatewayStatus.RateLimitStatus?
        if let limiter = route.limiter, let settings = route.settings.rateLimit {
            rateLimit = GatewayStatus.RateLimitStatus(
                perSecond: settings.bucket.perSecond, burst: settings.bucket.burst, key: settings.key.rawValue,
                busiest: limiter.busiest(5, now: now).map { GatewayStatus.KeyUsage(key: $0.key, used: ($0.used * 10).rounded() / 10) }
            )
        }
        let minute = recorder.lastMinute(route: route.id, now: now)
        let lastMinute = GatewayStatus.LastMinute(
            requests: minute.requests, requestsPerSecond: Double(minute.requests) / Double(minute.coveredSeconds),
            errorRate: minute.requests > 0 ? Double(minute.failures) / Double(minute.requests) : nil,
            p50Millis: minute.p50Millis, p99Millis: minute.p99Millis,
            series: .init(requests: minute.requestsPerSecond, errorRate: minute.errorRate, p50Millis: minute.p50, p99Millis: minute.p99)
        )
        return GatewayStatus.RouteStatus(
            id: route.id, path: route.settings.path, methods: route.settings.methods, public: route.settings.isPublic, upstreams: upstreams,
            breaker: breaker, rateLimit: rateLimit, lastMinute: lastMinute
        )
    }

    private func authStatus(_ guardian: AuthGuard, now: ContinuousClock.Instant) -> GatewayStatus.AuthStatus {
        var feed: GatewayStatus.RevocationFeedStatus?
        if let settings = guardian.settings.revocations {
            let counts = revocations.counts()
            feed = GatewayStatus.RevocationFeedStatus(
                url: settings.url, ageSeconds: revocations.isPolled ? Self.seconds(revocations.age(now: now)) : nil,
                fresh: revocations.isFresh(within: RevocationList.stalenessBound(settings), now: now), failClosed: settings.failClosed,
                revokedTokens: counts.tokens, cutOffClients: counts.clients, lastError: counts.lastError
            )
        }
        return GatewayStatus.AuthStatus(jwksURL: guardian.settings.jwksURL, keys: guardian.jwks.keys.byID.keys.sorted(), revocationFeed: feed)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return ((Double(seconds) + Double(attoseconds) / 1e18) * 10).rounded() / 10
    }
}
