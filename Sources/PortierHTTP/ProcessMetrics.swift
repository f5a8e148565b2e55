public import Prometheus
import Synchronization

/// One process's Prometheus registry, with the series it can only read at scrape time (outbox
/// depth, consumer lag, dead letters) collected just before each rendering. Each process owns its
/// registry (no global bootstrap), so several can live in one test process.
public final class ProcessMetrics: Sendable {
    /// The `<process>` in `portier_<process>_...`: `auth`, `rooms`, `books`, ...
    public let process: String
    public let registry = PrometheusCollectorRegistry()
    private let collectors = Mutex<[@Sendable () async -> Void]>([])
    /// The last total published per mirrored counter (see ``mirror(_:total:)``).
    private let mirrored = Mutex<[ObjectIdentifier: Int64]>([:])

    public init(process: String) {
        self.process = process
    }

    /// `portier_<process>_<name>_<unit>` with its HELP text.
    public func descriptor(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "portier", subsystem: process, metricName: name, unitName: unit, helpText: help)
    }

    /// Runs `collect` before every scrape, to set the series it owns from their source.
    public func onScrape(_ collect: @escaping @Sendable () async -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    /// Brings a Prometheus counter up to a running total kept elsewhere (an atomic in a module
    /// that does not depend on Prometheus). Totals only grow; a smaller one is ignored.
    public func mirror(_ counter: Counter, total: Int64) {
        let delta = mirrored.withLock { last -> Int64 in
            let key = ObjectIdentifier(counter)
            let previous = last[key] ?? 0
            guard total > previous else { return 0 }
            last[key] = total
            return total - previous
        }
        if delta > 0 { counter.increment(by: delta) }
    }

    /// The Prometheus text exposition, after running the scrape-time collectors.
    public func render() async -> [UInt8] {
        for collect in collectors.withLock({ $0 }) { await collect() }
        return registry.emitToBuffer()
    }

    /// Latency buckets in seconds, 1 ms to 10 s (the gateway's).
    public static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
    ]
}
