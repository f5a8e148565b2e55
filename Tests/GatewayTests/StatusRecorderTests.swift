import Foundation
import Testing

@testable import Gateway

/// The status page's per-route minute, with explicit instants (no waiting on the clock).
@Suite struct StatusRecorderTests {
    final class Loop {}

    @Test func shardsOfOneRouteAddUpAndSecondsRollOver() {
        let recorder = StatusRecorder()
        let start = ContinuousClock.now
        let (a, b) = (Loop(), Loop())
        var first = StatusRecorder.Cache(shard: ObjectIdentifier(a))
        var second = StatusRecorder.Cache(shard: ObjectIdentifier(b))
        for _ in 0..<3 { recorder.record(route: "rooms", status: 200, duration: .milliseconds(2), now: start, cache: &first) }
        recorder.record(route: "rooms", status: 502, duration: .milliseconds(900), now: start, cache: &second)
        recorder.record(route: "rooms", status: 200, duration: .milliseconds(2), now: start + .seconds(1), cache: &first)

        let minute = recorder.lastMinute(route: "rooms", now: start + .seconds(2))
        #expect(minute.requests == 5 && minute.failures == 1, "both event loops' windows count")
        #expect(minute.requestsPerSecond.suffix(2) == [4, 1] && minute.requestsPerSecond.count == 60)
        #expect(minute.errorRate.suffix(2) == [0.25, 0])
        #expect(minute.p50Millis == 3.2, "2 ms falls in the bucket up to 3.2 ms")
        #expect(minute.p99Millis == 1638.4, "900 ms falls in the bucket up to 1.6384 s")
        #expect(minute.coveredSeconds == 2, "two seconds recorded so far: averages divide by two")

        let later = recorder.lastMinute(route: "rooms", now: start + .seconds(61))
        #expect(later.requests == 1 && later.coveredSeconds == 60, "the first second is more than a minute old and gone")
        let reused = start + .seconds(61)
        recorder.record(route: "rooms", status: 200, duration: .milliseconds(2), now: reused, cache: &first)
        #expect(recorder.lastMinute(route: "rooms", now: start + .seconds(62)).requestsPerSecond.last == 1, "a reused slot starts from zero")
    }

    @Test func aRouteDroppedAndAddedAgainIsCountedAfresh() {
        let recorder = StatusRecorder()
        let now = ContinuousClock.now
        let loop = Loop()
        var cache = StatusRecorder.Cache(shard: ObjectIdentifier(loop))
        recorder.record(route: "y", status: 200, duration: .milliseconds(1), now: now, cache: &cache)
        recorder.retain(routes: [])
        #expect(recorder.lastMinute(route: "y", now: now + .seconds(1)).requests == 0, "a route that left the table is forgotten")
        // The connection still holds the dropped window: it must not keep recording into it.
        recorder.record(route: "y", status: 200, duration: .milliseconds(1), now: now, cache: &cache)
        recorder.record(route: "y", status: 200, duration: .milliseconds(1), now: now, cache: &cache)
        #expect(recorder.lastMinute(route: "y", now: now + .seconds(1)).requests == 2)
    }
}
