import Synchronization

/// Each route's requests over the last minute, second by second, for the status page: how many,
/// how many failed (5xx, the gateway's own 502/503/504 included), and a coarse latency histogram
/// per second from which p50 and p99 are read. Prometheus keeps the long history; this is the
/// live view HAProxy's stats page and Kong Manager give without a metrics server.
final class StatusRecorder: Sendable {
    /// Seconds kept per route.
    static let seconds = 60
    /// Upper bounds of the latency buckets, in microseconds: 50 µs doubling to about 54 s; the
    /// last bucket takes everything slower. A percentile is reported as its bucket's upper bound,
    /// so it is at most 2x high: enough to see a route slow down, as a sparkline shows.
    static let bounds: [Int64] = (0..<21).map { 50 << $0 }

    private let origin = ContinuousClock.now
    private let windows = Mutex<[String: Window]>([:])

    /// One connection's last window: consecutive requests on a keep-alive connection mostly go to
    /// the same route, and then cost no dictionary lookup.
    struct Cache {
        var route = ""
        var window: Window?
    }

    /// Whole seconds since the recorder started, on the monotonic clock.
    func second(_ instant: ContinuousClock.Instant = .now) -> Int64 {
        (instant - origin).components.seconds
    }

    func record(route: String, status: Int, duration: Duration, now: ContinuousClock.Instant = .now, cache: inout Cache) {
        let window: Window
        if let cached = cache.window, cache.route == route {
            window = cached
        } else {
            window = windows.withLock { windows in
                if let window = windows[route] { return window }
                let window = Window()
                windows[route] = window
                return window
            }
            cache = Cache(route: route, window: window)
        }
        window.record(second: second(now), failed: status >= 500, duration: duration)
    }

    /// The last minute of `route` (60 quiet seconds when it has had no requests), ending with the
    /// second before `now`: the current second is still filling.
    func lastMinute(route: String, now: ContinuousClock.Instant = .now) -> Minute {
        guard let window = windows.withLock({ $0[route] }) else {
            var minute = Minute.empty
            for _ in 0..<Self.seconds { minute.append(nil) }
            return minute
        }
        return window.minute(endingBefore: second(now))
    }

    /// Forgets routes that left the table.
    func retain(routes: Set<String>) {
        windows.withLock { windows in
            for id in windows.keys where !routes.contains(id) { windows[id] = nil }
        }
    }

    /// One second of one route.
    struct Slot {
        var second: Int64 = -1
        var requests = 0
        var failures = 0
        var latency = [Int](repeating: 0, count: StatusRecorder.bounds.count + 1)

        mutating func reset(_ second: Int64) {
            self.second = second
            requests = 0
            failures = 0
            for index in latency.indices { latency[index] = 0 }
        }
    }

    /// The ring of one route's last seconds.
    final class Window: Sendable {
        private let slots = Mutex([Slot](repeating: Slot(), count: StatusRecorder.seconds))

        func record(second: Int64, failed: Bool, duration: Duration) {
            let micros = Self.microseconds(duration)
            let bucket = StatusRecorder.bounds.firstIndex { micros <= $0 } ?? StatusRecorder.bounds.count
            let index = Int(second % Int64(StatusRecorder.seconds))
            slots.withLock { slots in
                if slots[index].second != second { slots[index].reset(second) }
                slots[index].requests &+= 1
                if failed { slots[index].failures &+= 1 }
                slots[index].latency[bucket] &+= 1
            }
        }

        /// The `seconds` seconds before `end`, oldest first, plus their totals.
        func minute(endingBefore end: Int64) -> Minute {
            let copy = slots.withLock { $0 }
            var minute = Minute.empty
            var total = [Int](repeating: 0, count: StatusRecorder.bounds.count + 1)
            for offset in stride(from: StatusRecorder.seconds, through: 1, by: -1) {
                let second = end - Int64(offset)
                guard second >= 0 else {
                    minute.append(nil)
                    continue
                }
                let slot = copy[Int(second % Int64(StatusRecorder.seconds))]
                guard slot.second == second else {
                    minute.append(nil)
                    continue
                }
                minute.append(slot)
                for index in total.indices { total[index] &+= slot.latency[index] }
            }
            minute.p50Millis = Self.percentile(0.50, of: total)
            minute.p99Millis = Self.percentile(0.99, of: total)
            return minute
        }

        static func microseconds(_ duration: Duration) -> Int64 {
            let (seconds, attoseconds) = duration.components
            guard seconds < 1_000_000 else { return .max }
            return max(0, seconds) * 1_000_000 + attoseconds / 1_000_000_000_000
        }

        /// The upper bound, in milliseconds, of the bucket holding the `fraction` quantile; nil with no requests.
        static func percentile(_ fraction: Double, of histogram: [Int]) -> Double? {
            let count = histogram.reduce(0, &+)
            guard count > 0 else { return nil }
            let rank = max(1, Int((Double(count) * fraction).rounded(.up)))
            var seen = 0
            for (index, bucket) in histogram.enumerated() {
                seen &+= bucket
                guard seen >= rank else { continue }
                let bound = index < StatusRecorder.bounds.count ? StatusRecorder.bounds[index] : (StatusRecorder.bounds.last ?? 0) * 2
                return Double(bound) / 1000
            }
            return nil
        }
    }

    /// A route's last minute: per-second series (oldest first; nil values for seconds without
    /// requests) and the minute's totals.
    struct Minute: Sendable, Equatable {
        var requestsPerSecond: [Int] = []
        var errorRate: [Double?] = []
        var p50: [Double?] = []
        var p99: [Double?] = []
        var requests = 0
        var failures = 0
        var p50Millis: Double?
        var p99Millis: Double?

        static let empty = Minute()

        mutating func append(_ slot: Slot?) {
            guard let slot, slot.requests > 0 else {
                requestsPerSecond.append(0)
                errorRate.append(nil)
                p50.append(nil)
                p99.append(nil)
                return
            }
            requestsPerSecond.append(slot.requests)
            errorRate.append(Double(slot.failures) / Double(slot.requests))
            p50.append(Window.percentile(0.50, of: slot.latency))
            p99.append(Window.percentile(0.99, of: slot.latency))
            requests &+= slot.requests
            failures &+= slot.failures
        }
    }
}
