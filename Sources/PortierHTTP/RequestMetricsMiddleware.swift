public import Hummingbird
import Prometheus
import Synchronization

/// `portier_<process>_requests_total{route,method,status}` and
/// `portier_<process>_request_duration_seconds{route}` for one Hummingbird server. `route` is the
/// route's template (`/rooms/:id`), never the raw path, and `unmatched` for a path no route has;
/// methods outside the standard ones count as `other`: every label stays bounded.
public final class RequestMetrics: Sendable {
    private struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }
    private let metrics: ProcessMetrics
    private let counters = Mutex<[Key: Counter]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])

    public init(metrics: ProcessMetrics) {
        self.metrics = metrics
    }

    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

    /// The label of a route template as Hummingbird reports it (nil or `NotFound` when none matched).
    static func routeLabel(_ endpointPath: String?) -> String {
        guard let endpointPath, endpointPath != "NotFound", !endpointPath.isEmpty else { return "unmatched" }
        return endpointPath
    }

    public func record(route endpointPath: String?, method: String, status: Int, duration: Duration) {
        let route = Self.routeLabel(endpointPath)
        let key = Key(route: route, method: Self.methods.contains(method) ? method : "other", status: (100...599).contains(status) ? status : 0)
        let counter = counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = metrics.registry.makeCounter(
                descriptor: metrics.descriptor("requests", unit: "total", help: "Requests by route template, method and status"),
                labels: [("route", key.route), ("method", key.method), ("status", String(key.status))]
            )
            counters[key] = counter
            return counter
        }
        let histogram = histograms.withLock { histograms in
            if let histogram = histograms[route] { return histogram }
            let histogram = metrics.registry.makeDurationHistogram(
                descriptor: metrics.descriptor("request_duration", unit: "seconds", help: "Time to the response head by route template"),
                labels: [("route", route)], buckets: ProcessMetrics.latencyBuckets
            )
            histograms[route] = histogram
            return histogram
        }
        counter.increment()
        histogram.record(duration)
    }
}

/// Records every request in ``RequestMetrics``. Added first (outermost), so it sees the status the
/// access log middleware rendered for an error, and the route template the router matched.
public struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: RequestMetrics

    public init(_ metrics: RequestMetrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.record(route: context.endpointPath, method: request.method.rawValue, status: response.status.code, duration: .now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.record(route: context.endpointPath, method: request.method.rawValue, status: status, duration: .now - start)
            throw error
        }
    }
}
