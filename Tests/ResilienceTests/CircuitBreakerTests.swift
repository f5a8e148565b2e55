import Testing
@testable import Resilience

/// Closed -> open -> half-open -> closed (or open again), with the clock passed in.
@Suite struct CircuitBreakerStateTests {
    let start = ContinuousClock.now
    let configuration = CircuitBreaker.Configuration(
        failureRatePercent: 50, slowCallRatePercent: 80, slowCallDuration: .milliseconds(500), minimumCalls: 4, window: .seconds(10),
        openDuration: .seconds(5), halfOpenCalls: 2
    )
    let fast = Duration.milliseconds(10)

    /// A breaker opened at `start` by four failures in a row.
    func tripped() -> CircuitBreaker {
        var breaker = CircuitBreaker(configuration: configuration, now: start)
        record(&breaker, Array(repeating: .failure(fast), count: 4), at: start)
        return breaker
    }

    func record(_ breaker: inout CircuitBreaker, _ outcomes: [CircuitBreaker.Outcome], at time: ContinuousClock.Instant) {
        for outcome in outcomes {
            #expect(breaker.acquire(now: time) == .permitted)
            breaker.record(outcome, now: time)
        }
    }

    @Test func staysClosedBelowTheMinimumNumberOfCalls() {
        var breaker = CircuitBreaker(configuration: configuration, now: start)
        record(&breaker, [.failure(fast), .failure(fast), .failure(fast)], at: start)
        #expect(breaker.state(now: start) == .closed)
    }

    @Test func opensAtTheFailureRateAndRefusesWithRetryAfter() {
        var breaker = CircuitBreaker(configuration: configuration, now: start)
        record(&breaker, [.success(fast), .success(fast), .failure(fast), .failure(fast)], at: start)
        #expect(breaker.state(now: start) == .open)
        #expect(breaker.acquire(now: start + .seconds(1)) == .rejected(retryAfterSeconds: 4))
        #expect(breaker.acquire(now: start + .milliseconds(4500)) == .rejected(retryAfterSeconds: 1))
    }

    @Test func aLowFailureRateKeepsItClosed() {
        var breaker = CircuitBreaker(configuration: configuration, now: start)
        record(&breaker, [.success(fast), .success(fast), .success(fast), .failure(fast), .success(fast)], at: start)
        #expect(breaker.state(now: start) == .closed)
    }

    @Test func slowCallsOpenIt() {
        var breaker = CircuitBreaker(configuration: configuration, now: start)
        let slow = Duration.seconds(1)
        record(&breaker, [.success(slow), .success(slow), .success(slow), .success(slow)], at: start)
        #expect(breaker.state(now: start) == .open)
    }

    @Test func oldCallsLeaveTheWindow() {
        var breaker = CircuitBreaker(configuration: configuration, now: start)
        record(&breaker, [.failure(fast), .failure(fast), .failure(fast)], at: start)
        record(&breaker, [.success(fast), .failure(fast)], at: start + .seconds(11))
        #expect(breaker.state(now: start + .seconds(11)) == .closed, "the first three failures have left the 10 s window")
    }

    @Test func halfOpenTrialsCloseItOnSuccess() {
        var breaker = tripped()
        let later = start + .seconds(5)
        #expect(breaker.state(now: later) == .halfOpen)
        #expect(breaker.acquire(now: later) == .permitted)
        #expect(breaker.acquire(now: later) == .permitted)
        #expect(breaker.acquire(now: later) == .rejected(retryAfterSeconds: 1), "only two trial calls")
        breaker.record(.success(fast), now: later)
        #expect(breaker.state(now: later) == .halfOpen)
        breaker.record(.success(fast), now: later)
        #expect(breaker.state(now: later) == .closed)
        #expect(breaker.acquire(now: later) == .permitted)
    }

    @Test func aFailedTrialReopensIt() {
        var breaker = tripped()
        let later = start + .seconds(6)
        #expect(breaker.acquire(now: later) == .permitted)
        breaker.record(.failure(fast), now: later)
        #expect(breaker.state(now: later) == .open)
        #expect(breaker.acquire(now: later + .seconds(1)) == .rejected(retryAfterSeconds: 4))
    }

    @Test func aReleasedTrialFreesItsSlotWithoutDecidingAnything() {
        var breaker = tripped()
        let later = start + .seconds(5)
        #expect(breaker.acquire(now: later) == .permitted)
        #expect(breaker.acquire(now: later) == .permitted)
        #expect(breaker.acquire(now: later) == .rejected(retryAfterSeconds: 1))
        breaker.release(now: later)  // the caller went away
        #expect(breaker.state(now: later) == .halfOpen)
        #expect(breaker.acquire(now: later) == .permitted, "the slot is free again")
        breaker.record(.success(fast), now: later)
        breaker.record(.success(fast), now: later)
        #expect(breaker.state(now: later) == .closed)
    }

    @Test func sharedBreakerRunFailsFastWhileOpen() async throws {
        let breaker = SharedCircuitBreaker(configuration: .init(minimumCalls: 2, openDuration: .seconds(60)))
        for _ in 0..<2 {
            await #expect(throws: TestFailure.self) { try await breaker.run { () async throws -> Int in throw TestFailure() } }
        }
        var called = false
        await #expect(throws: CircuitOpenError.self) {
            try await breaker.run { () async throws -> Int in
                called = true
                return 1
            }
        }
        #expect(!called)
    }

    @Test func anOutcomeFromBeforeTheBreakerOpenedIsNotATrial() {
        var breaker = CircuitBreaker(configuration: configuration, now: start)
        #expect(breaker.acquire(now: start) == .permitted)
        let slowCallsGeneration = breaker.generation  // a long call starts while all is well
        record(&breaker, Array(repeating: .failure(fast), count: 4), at: start)
        let later = start + .seconds(5)
        #expect(breaker.acquire(now: later) == .permitted, "the first trial")
        let trialGeneration = breaker.generation
        #expect(trialGeneration != slowCallsGeneration)

        breaker.record(.failure(fast), now: later, generation: slowCallsGeneration)
        #expect(breaker.state(now: later) == .halfOpen, "the old call's failure does not reopen it")
        breaker.release(now: later, generation: slowCallsGeneration)
        #expect(breaker.acquire(now: later) == .permitted, "the second trial slot")
        #expect(breaker.acquire(now: later) == .rejected(retryAfterSeconds: 1), "nor did the old call free a trial slot it never held")

        breaker.record(.success(fast), now: later, generation: trialGeneration)
        breaker.record(.success(fast), now: later, generation: trialGeneration)
        #expect(breaker.state(now: later) == .closed)
    }

    @Test func oneSlowTrialReopensOnlyWhenTheSlowCallRateSaysSo() {
        // 80% slow calls open it; with two trials, one slow trial is 50%: it closes.
        var breaker = tripped()
        let later = start + .seconds(5)
        #expect(breaker.acquire(now: later) == .permitted)
        #expect(breaker.acquire(now: later) == .permitted)
        breaker.record(.success(.seconds(1)), now: later)
        #expect(breaker.state(now: later) == .halfOpen, "one slow success of two is under the slow-call rate")
        breaker.record(.success(fast), now: later)
        #expect(breaker.state(now: later) == .closed)

        // Both slow: 100%, over the rate, so it opens again.
        var slow = tripped()
        #expect(slow.acquire(now: later) == .permitted)
        #expect(slow.acquire(now: later) == .permitted)
        slow.record(.success(.seconds(1)), now: later)
        slow.record(.success(.seconds(1)), now: later)
        #expect(slow.state(now: later) == .open)
    }

    struct TestFailure: Error {}
}
