import Foundation
import GRDB
import Logging
import PortierTestSupport
import ServiceLifecycle
import Synchronization
import Testing
@testable import EventBus

/// The bus on real SQLite files and a real PostgreSQL: outbox, relay, log, consumer groups, on each engine of the log.
@Suite struct EventBusTests {
    static func event(_ index: Int) -> EventEnvelope {
        EventEnvelope(id: "event-\(index)", type: "Tested", bookID: Int64(index), source: "test", payload: Data("{\"n\":\(index)}".utf8))
    }

    static let logger = Logger(label: "bus")

    @Test(arguments: Engine.allCases) func aStateChangeAndItsEventCommitTogetherOrNotAtAll(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withBus(dir) { _, store in
            try await store.publish([Self.event(1)], false)
            await #expect(throws: UnprocessableEvent.self, "the body's own error comes out unchanged") {
                try await store.publish([Self.event(2)], true)
            }
            #expect(try await store.bus.outboxCount() == 1)
        } }
    }

    @Test(arguments: Engine.allCases) func theRelayMovesEventsInOrderAndAReplayAddsNothing(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withBus(dir) { log, store in
            try await store.publish((1...3).map(Self.event), false)
            let relay = OutboxRelay(store: store.bus, log: log, logger: Self.logger)
            #expect(try await relay.relayOnce() == 3)
            #expect(try await store.bus.outboxCount() == 0)
            #expect(try await log.read(after: 0, limit: 10).map(\.envelope.id) == ["event-1", "event-2", "event-3"])

            // A relay that crashed after appending and before deleting sends the same rows again.
            try await store.publish((2...4).map(Self.event), false)
            _ = try await relay.relayOnce()
            #expect(try await log.read(after: 0, limit: 10).map(\.envelope.id) == ["event-1", "event-2", "event-3", "event-4"])
        } }
    }

    /// The trace context an event was created in travels with it: outbox, relay, log, and what a
    /// consumer reads. An event created outside any trace has none.
    @Test(arguments: Engine.allCases) func anEventsTraceContextTravelsFromTheOutboxThroughTheLog(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withBus(dir) { log, store in
            var traced = Self.event(1)
            traced.traceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            traced.traceState = "vendor=opaque"
            try await store.publish([traced, Self.event(2)], false)
            #expect(try await OutboxRelay(store: store.bus, log: log, logger: Self.logger).relayOnce() == 2)
            let read = try await log.read(after: 0, limit: 10).map(\.envelope)
            #expect(read.map(\.traceParent) == [traced.traceParent, nil])
            #expect(read.map(\.traceState) == ["vendor=opaque", nil])
        } }
    }

    @Test(arguments: Engine.allCases) func leasesAreExclusiveUntilReleasedOrExpired(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withLog(dir) { log in
            #expect(try await log.acquireLease(group: "g", owner: "a", duration: .seconds(30)) == .granted(position: 0))
            guard case .heldByOther(let owner, _) = try await log.acquireLease(group: "g", owner: "b", duration: .seconds(30)) else {
                Issue.record("b must not get the lease while a holds it")
                return
            }
            #expect(owner == "a")
            #expect(try await log.commit(group: "g", owner: "a", position: 7, renewFor: .milliseconds(1)))
            #expect(try await !log.commit(group: "g", owner: "b", position: 9, renewFor: .seconds(1)), "only the holder commits")
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await log.acquireLease(group: "g", owner: "b", duration: .seconds(30)) == .granted(position: 7), "expired: b takes over at a's position")
            try await log.release(group: "g", owner: "b")
            #expect(try await log.acquireLease(group: "g", owner: "c", duration: .seconds(30)) == .granted(position: 7))
        } }
    }

    /// Runs consumers as services until `until` holds, then shuts them down gracefully.
    func runConsumers(_ consumers: [EventConsumer], until condition: @escaping @Sendable () async throws -> Bool) async throws {
        let group = ServiceGroup(configuration: .init(services: consumers, logger: Self.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(try await eventually(timeout: .seconds(120), condition))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    func consumer(
        _ store: TestStore, _ log: any EventLog, name: String, fail: String? = nil, badSQL: String? = nil, retention: Duration = .seconds(7 * 86_400)
    ) -> EventConsumer {
        EventConsumer(
            group: "effects", log: log, sink: store.sink(name, fail, badSQL), types: ["Tested"], logger: Self.logger, pollInterval: .milliseconds(5),
            dedupeRetention: retention
        )
    }

    func effects(_ store: TestStore) async throws -> [String] {
        try await store.column("SELECT event_id FROM effects ORDER BY id")
    }

    @Test(arguments: Engine.allCases) func twoMembersOfAGroupHandleEveryEventOnceInTotal(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withBus(dir) { log, store in
            try await log.append((1...200).map(Self.event))
            try await runConsumers([consumer(store, log, name: "a"), consumer(store, log, name: "b")]) {
                try await effects(store).count >= 200
            }
            let handled = try await effects(store)
            #expect(handled.count == 200)
            #expect(Set(handled).count == 200)
            #expect(handled == (1...200).map { "event-\($0)" }, "in log order")
        } }
    }

    @Test(arguments: Engine.allCases) func aConsumerResumesFromItsPositionAndRedeliveryTakesEffectOnce(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withBus(dir) { log, store in
            try await log.append((1...50).map(Self.event))
            try await runConsumers([consumer(store, log, name: "first")]) { try await effects(store).count >= 50 }
            try await log.append((51...80).map(Self.event))
            try await runConsumers([consumer(store, log, name: "second")]) { try await effects(store).count >= 80 }
            let byFirst = try await store.count("SELECT COUNT(*) FROM effects WHERE handled_by = 'first'")
            #expect(byFirst == 50)
            #expect(try await effects(store).count == 80)

            // Rewind the group, as a crash between effect and commit would: nothing happens twice.
            try await log.rewind(group: "effects", to: 0)
            try await runConsumers([consumer(store, log, name: "third")]) { try await log.position(of: "effects") >= 80 }
            #expect(try await effects(store).count == 80)
        } }
    }

    @Test(arguments: Engine.allCases) func processedEventsAreForgottenOnlyOnceCommittedPastAndOld(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withBus(dir) { log, store in
            @Sendable func remembered() async throws -> Int {
                try await store.count("SELECT COUNT(*) FROM processed_events")
            }
            try await log.append((1...50).map(Self.event))
            try await runConsumers([consumer(store, log, name: "a")]) { try await log.position(of: "effects") >= 50 }
            #expect(try await remembered() == 50, "within the 7-day retention every processed event is remembered")

            // Without retention, everything the group has committed past is forgotten...
            try await log.append((51...60).map(Self.event))
            try await runConsumers([consumer(store, log, name: "b", retention: .zero)]) {
                let position = try await log.position(of: "effects")
                guard position >= 60 else { return false }
                return try await remembered() == 0
            }
            // ...and never needed again: the group reads on from its position.
            try await log.append((61...70).map(Self.event))
            try await runConsumers([consumer(store, log, name: "c")]) { try await log.position(of: "effects") >= 70 }
            let handled = try await effects(store)
            #expect(handled == (1...70).map { "event-\($0)" }, "each once, in order")
            #expect(try await remembered() == 10)
        } }
    }

    @Test(arguments: Engine.allCases) func aHandlerThatFailsInSQLIsSetAsideNotRetriedForever(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withBus(dir) { log, store in
            try await log.append((1...3).map(Self.event))
            try await runConsumers([consumer(store, log, name: "a", badSQL: "event-2")]) { try await log.position(of: "effects") >= 3 }
            #expect(try await effects(store) == ["event-1", "event-3"])
            let dead = try await store.column("SELECT error FROM dead_letters")
            #expect(dead.count == 1 && dead.first?.contains("no_such_table") == true, "\(dead)")
        } }
    }

    /// A dead letter's error line names the trace of the request that made the event, so an operator
    /// finds the failure from the trace and the trace from the failure.
    @Test(arguments: Engine.allCases) func aDeadLettersLogLineCarriesTheEventsTrace(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withBus(dir) { log, store in
            var traced = Self.event(1)
            traced.traceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            try await log.append([traced])
            let captured = CapturedLog()
            let consumer = EventConsumer(
                group: "effects", log: log, sink: store.sink("a", "event-1", nil), types: ["Tested"], logger: captured.logger(),
                pollInterval: .milliseconds(5)
            )
            try await runConsumers([consumer]) { try await log.position(of: "effects") >= 1 }
            let line = captured.lines.first { $0.message == "event set aside as a dead letter" }
            #expect(line?.metadata["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736", "\(captured.lines.map(\.message))")
            #expect(line?.metadata["event_id"] == "event-1")
        } }
    }

    @Test(arguments: Engine.allCases) func anUnprocessableEventIsSetAsideAndTheRestGoOn(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withBus(dir) { log, store in
            try await log.append((1...5).map(Self.event))
            try await runConsumers([consumer(store, log, name: "a", fail: "event-3")]) { try await log.position(of: "effects") >= 5 }
            #expect(try await effects(store) == ["event-1", "event-2", "event-4", "event-5"])
            let dead = try await store.column("SELECT event_id FROM dead_letters")
            #expect(dead == ["event-3"])
        } }
    }
}
