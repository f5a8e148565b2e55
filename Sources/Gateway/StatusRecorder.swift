import Synchronization

/// Each route's requests over the last minute, second by second, for the status page: how many,
/// how many failed (5xx, the gateway's own 502/503/504 included), and a coarse latency histogram
/// per second from which p50 and p99 are read. Prometheus keeps the long history; this is the
/// live view HAProxy's stats page and Kong Manager give without a metrics server.
///
/// On the data path it costs one uncontended lock per request: each event loop records into its
/// own window of a route (a shard), and the status page merges the shards once a second.
final class StatusRecorder: Sendable {
    /// Seconds kept per route.
    static let seconds = 60
    /// Upper bounds of the latency buckets, in microseconds: 50 µs doubling to about 54 s; the
    /// last bucket takes everything slower. A percentile is reported as its bucket's upper bound,
    /// so it is at most 2x high: enough to see a route slow down, as a sparkline shows.
    static let bounds: [Int64] = (0..<21).map { 50 << $0 }

    private let origin = ContinuousClock.now
    private struct Key: Hashable {
        var route: String
        var shard: ObjectIdentifier
    }
    private let windows = Mutex<[Key: Window]>([:])
    /// Bumped when windows are dropped, so connections stop recording into a dropped one.
    private let generation = Atomic<UInt64>(0)

    /// One connection's window for the route it last sent to: consecutive requests on a keep-alive
    /// connection mostly go to the same route, and then cost no dictionary lookup.
    struct Cache {
        /// The event loop's identity: connections on one loop share its windows.
        let shard: ObjectIdentifier
        var route = ""
        var generation: UInt64 = 0
        var window: Window?

        init(shard: ObjectIdentifier) {
            self.shard = shard
        }
    }

    /// Whole seconds since the recorder started, on the monotonic clock.
    func second(_ instant: ContinuousClock.Instant = .now) -> Int64 {
        max(0, (instant - origin).components.seconds)
    }

    func record(route: String, status: Int, duration: Duration, now: ContinuousClock.Instant = .now, cache: inout Cache) {
        let current = generation.load(ordering: .acquiring)
        let window: Window
        if let cached = cache.window, cache.route == route, cache.generation == current {
            window = cached
        } else {
            let key = Key(route: route, shard: cache.shard)
            let started = second(now)
            window = windows.withLock { windows in
                if let window = windows[key] { return window }
                let window = Window(created: started)
                windows[key] = window
                return window
            }
            cache.route = route
            cache.generation = current
            cache.window = window
        }
        window.record(second: second(now), failed: status >= 500, duration: duration)
    }

    /// The last minute of `route`, all shards together, ending with the second before `now`: the
    /// current second is still filling. A route without requests has 60 quiet seconds.
    func lastMinute(route: String, now: ContinuousClock.Instant = .now) -> Minute {
        let end = second(now)
        let shards = windows.withLock { windows in windows.filter { $0.key.route == route }.map(\.value) }
        var seconds = [Slot](repeating: Slot(), count: Self.seconds)
        var since: Int64?
        for window in shards {
            window.accumulate(into: &seconds, endingBefore: end)
            since = min(since ?? window.created, window.created)
        }
        var minute = Minute.empty
        var total = [Int](repeating: 0, count: Self.bounds.count + 1)
        for slot in seconds {
            minute.append(slot)
            for index in total.indices { total[index] &+= slot.latency[index] }
        }
        minute.p50Millis = Window.percentile(0.50, of: total)
        minute.p99Millis = Window.percentile(0.99, of: total)
        // A route recorded for ten seconds so far averages over ten, not sixty.
        minute.coveredSeconds = since.map { Int(max(1, min(Int64(Self.seconds), end - $0))) } ?? Self.seconds
        return minute
    }

    /// Forgets routes that left the table (called when a table is applied).
    func retain(routes: Set<String>) {
        let dropped = windows.withLock { windows in
            let before = windows.count
            windows = windows.filter { routes.contains($0.key.route) }
            return windows.count != before
        }
        if dropped { generation.add(1, ordering: .releasing) }
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

    /// The ring of one route's last seconds on one event loop.
    final class Window: Sendable {
        /// The second this window was made.
        let created: Int64
        private let slots = Mutex([Slot](repeating: Slot(), count: StatusRecorder.seconds))

        init(created: Int64) {
            self.created = created
        }

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

        /// Adds this window's seconds before `end` into `seconds` (oldest first, one per second).
        func accumulate(into seconds: inout [Slot], endingBefore end: Int64) {
            let copy = slots.withLock { $0 }
            for offset in seconds.indices {
                let second = end - Int64(seconds.count - offset)
                guard second >= 0 else { continue }
                let slot = copy[Int(second % Int64(StatusRecorder.seconds))]
                guard slot.second == second else { continue }
                seconds[offset].requests &+= slot.requests
                seconds[offset].failures &+= slot.failures
                for index in slot.latency.indices { seconds[offset].latency[index] &+= slot.latency[index] }
            }
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
        /// How many of the 60 seconds the route has been recorded for (averages divide by this).
        var coveredSeconds = StatusRecorder.seconds

        static let empty = Minute()

        mutating func append(_ slot: Slot) {
            guard slot.requests > 0 else {
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
