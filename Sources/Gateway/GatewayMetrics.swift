import PortierHTTP
import Prometheus
import Resilience
import Synchronization

/// The gateway's Prometheus metrics. Each gateway owns its registry (no global bootstrap), so
/// several gateways can live in one process, as they do in tests.
final class GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private struct RequestKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }
    private let requests = Mutex<[RequestKey: Counter]>([:])
    private let latencies = Mutex<[String: DurationHistogram]>([:])
    private let limited: CounterTable
    private let upstreamErrors: CounterTable
    private let reloadsOK: Counter
    private let reloadsFailed: Counter
    /// Upstream connections by how a request got one: reused from the pool, newly opened, or failed to open.
    let upstreamConnectionReused: Counter
    let upstreamConnectionOpened: Counter
    let upstreamConnectionFailed: Counter
    private let jwksRefreshOK: Counter
    private let jwksRefreshFailed: Counter
    /// The revocation list whose age is published at scrape time (set once by the core).
    private let revocationFeed = Mutex<RevocationList?>(nil)
    private let revocationFeedAge: Gauge
    /// Rate-limit sharing's series, made only when the gateway has a database (by ``RateLimitSync``).
    private struct RateLimitSyncSeries: Sendable {
        var status: RateLimitSyncStatus
        var ok: Counter
        var failed: Counter
        var age: Gauge
    }
    private let rateLimitSyncSeries = Mutex<RateLimitSyncSeries?>(nil)

    static func descriptor(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "portier", subsystem: "gateway", metricName: name, unitName: unit, helpText: help)
    }

    init() {
        let reloads = Self.descriptor("route_reloads", unit: "total", help: "routes.json reloads by result")
        reloadsOK = registry.makeCounter(descriptor: reloads, labels: [("result", "ok")])
        reloadsFailed = registry.makeCounter(descriptor: reloads, labels: [("result", "failed")])
        limited = CounterTable(registry: registry, name: "rate_limited", help: "Requests refused by the rate limiter")
        let connections = Self.descriptor(
            "upstream_connections", unit: "total", help: "Upstream connections a request used: reused from the pool, newly opened, or failed to open"
        )
        upstreamConnectionReused = registry.makeCounter(descriptor: connections, labels: [("outcome", "reused")])
        upstreamConnectionOpened = registry.makeCounter(descriptor: connections, labels: [("outcome", "opened")])
        upstreamConnectionFailed = registry.makeCounter(descriptor: connections, labels: [("outcome", "failed")])
        let jwks = Self.descriptor("jwks_refreshes", unit: "total", help: "Fetches of the token server's JWKS by result")
        jwksRefreshOK = registry.makeCounter(descriptor: jwks, labels: [("result", "ok")])
        jwksRefreshFailed = registry.makeCounter(descriptor: jwks, labels: [("result", "failed")])
        upstreamErrors = CounterTable(registry: registry, name: "upstream_errors", help: "Upstream calls that failed without a response")
        revocationFeedAge = registry.makeGauge(
            descriptor: Self.descriptor(
                "revocation_feed_age", unit: "seconds", help: "Seconds since the revocation feed was last fetched successfully (since start if never)"
            )
        )
    }

    /// Publishes `portier_gateway_revocation_feed_age_seconds` for this list, computed at each scrape.
    func trackRevocationFeed(_ list: RevocationList) {
        revocationFeed.withLock { $0 = list }
    }

    /// Publishes `portier_gateway_rate_limit_syncs_total{result}` and
    /// `portier_gateway_rate_limit_sync_age_seconds` (computed at each scrape) for this status.
    func trackRateLimitSync(_ status: RateLimitSyncStatus) {
        let syncs = Self.descriptor("rate_limit_syncs", unit: "total", help: "Exchanges of rate-limit usage with PostgreSQL by result")
        let series = RateLimitSyncSeries(
            status: status,
            ok: registry.makeCounter(descriptor: syncs, labels: [("result", "ok")]),
            failed: registry.makeCounter(descriptor: syncs, labels: [("result", "failed")]),
            age: registry.makeGauge(
                descriptor: Self.descriptor(
                    "rate_limit_sync_age", unit: "seconds", help: "Seconds since rate-limit usage was last exchanged with PostgreSQL (since start if never)"
                )
            )
        )
        rateLimitSyncSeries.withLock { $0 = series }
    }

    func rateLimitSync(ok: Bool) {
        guard let series = rateLimitSyncSeries.withLock({ $0 }) else { return }
        (ok ? series.ok : series.failed).increment()
    }

    /// The counter and histogram of one route, method and status.
    struct RequestSeries {
        var counter: Counter
        var histogram: DurationHistogram

        /// One connection's last series: consecutive requests on a keep-alive connection mostly
        /// repeat it, and then cost no lock and no hashing.
        struct Cache {
            var route = ""
            var method = ""
            var status = 0
            var series: RequestSeries?
        }
    }

    func request(route: String, method: String, status: Int, duration: Duration, cache: inout RequestSeries.Cache) {
        if let series = cache.series, cache.status == status, cache.route == route, cache.method == method {
            series.counter.increment()
            series.histogram.record(duration)
            return
        }
        let series = self.series(route: route, method: method, status: status)
        cache = RequestSeries.Cache(route: route, method: method, status: status, series: series)
        series.counter.increment()
        series.histogram.record(duration)
    }

    private func series(route: String, method: String, status: Int) -> RequestSeries {
        let key = RequestKey(route: route, method: method, status: status)
        let counter = requests.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: Self.descriptor("requests", unit: "total", help: "Requests by route, method and status"),
                labels: [("route", route), ("method", method), ("status", String(status))]
            )
            counters[key] = counter
            return counter
        }
        let histogram = latencies.withLock { histograms in
            if let histogram = histograms[route] { return histogram }
            let histogram = registry.makeDurationHistogram(
                descriptor: Self.descriptor("request_duration", unit: "seconds", help: "Time to the response head by route"),
                labels: [("route", route)], buckets: ProcessMetrics.latencyBuckets
            )
            histograms[route] = histogram
            return histogram
        }
        return RequestSeries(counter: counter, histogram: histogram)
    }

    func rateLimited(route: String) {
        limited.counter([("route", route)]).increment()
    }

    /// kind: timeout, connect, reset
    func upstreamError(route: String, kind: String) {
        upstreamErrors.counter([("route", route), ("kind", kind)]).increment()
    }

    /// For ``JWKSFetcher``'s `onFetch`.
    func jwksRefresh(ok: Bool) {
        (ok ? jwksRefreshOK : jwksRefreshFailed).increment()
    }

    func reload(ok: Bool) {
        (ok ? reloadsOK : reloadsFailed).increment()
    }

    /// Prometheus text, with breaker states read at scrape time (0 closed, 1 half-open, 2 open).
    func render(routes: [Route]) -> [UInt8] {
        if let feed = revocationFeed.withLock({ $0 }), feed.isPolled {
            let (seconds, attoseconds) = feed.age().components
            revocationFeedAge.set(Double(seconds) + Double(attoseconds) / 1e18)
        }
        if let series = rateLimitSyncSeries.withLock({ $0 }) {
            let (seconds, attoseconds) = series.status.age().components
            series.age.set(Double(seconds) + Double(attoseconds) / 1e18)
        }
        for route in routes {
            guard let breaker = route.breaker else { continue }
            let value: Double
            switch breaker.state() {
            case .closed: value = 0
            case .halfOpen: value = 1
            case .open: value = 2
            }
            registry.makeGauge(
                descriptor: Self.descriptor("circuit_breaker", unit: "state", help: "Circuit breaker state per route: 0 closed, 1 half-open, 2 open"),
                labels: [("route", route.id)]
            ).set(value)
        }
        return registry.emitToBuffer()
    }
}

/// Counters of one metric by label values, created on first use.
final class CounterTable: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let name: String
    private let help: String
    private let counters = Mutex<[String: Counter]>([:])

    init(registry: PrometheusCollectorRegistry, name: String, help: String) {
        self.registry = registry
        self.name = name
        self.help = help
    }

    func counter(_ labels: [(String, String)]) -> Counter {
        let key = labels.map { $0.1 }.joined(separator: "\u{1F}")
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(descriptor: GatewayMetrics.descriptor(name, unit: "total", help: help), labels: labels)
            counters[key] = counter
            return counter
        }
    }
}
