import Foundation
import Logging
import PortierTestSupport
import Synchronization
import Testing
@testable import EventBus

/// What a consumer relies on, under concurrency: many appenders at once (on PostgreSQL each its own
/// connection, as relays on several machines), and readers that only remember their last position.
@Suite struct EventLogOrderTests {
    static let logger = Logger(label: "order")

    static func event(_ writer: Int, _ index: Int) -> EventEnvelope {
        EventEnvelope(id: "w\(writer)-\(index)", type: "Tested", bookID: Int64(index), source: "w\(writer)", payload: Data("{}".utf8))
    }

    /// A consumer that reads "after the last position it saw", while 8 writers append 2,400 events
    /// in batches of 1-5, must see every event exactly once, in increasing positions, and each
    /// writer's events in the order that writer appended them. Without ordered commits a reader
    /// overtakes a transaction that took an earlier position and commits later, and misses it.
    @Test(arguments: Engine.allCases) func concurrentAppendersAndATailingReaderLoseAndRepeatNothing(engine: Engine) async throws {
        let writers = 8
        let perWriter = 300
        try await TemporaryDirectory.with { dir in
            try await engine.withLog(dir) { log in
                // On PostgreSQL the pool lends each concurrent append its own connection, as separate relays would have.
                try await withThrowingTaskGroup(of: [StoredEvent].self) { group in
                    for writer in 0..<writers {
                        group.addTask {
                            var index = 0
                            while index < perWriter {
                                let size = min(perWriter - index, 1 + (index + writer) % 5)
                                try await log.append((index..<index + size).map { Self.event(writer, $0) })
                                index += size
                            }
                            return []
                        }
                    }
                    group.addTask {
                        var seen: [StoredEvent] = []
                        var position: Int64 = 0
                        let deadline = ContinuousClock.now + .seconds(120)
                        while seen.count < writers * perWriter, ContinuousClock.now < deadline {
                            let batch = try await log.read(after: position, limit: 37)
                            if batch.isEmpty {
                                try await Task.sleep(for: .milliseconds(1))
                                continue
                            }
                            seen += batch
                            position = batch.last?.position ?? position
                        }
                        return seen
                    }
                    var seen: [StoredEvent] = []
                    for try await result in group { seen += result }

                    let ids = seen.map(\.envelope.id)
                    #expect(ids.count == writers * perWriter, "every event, read by the tailing reader")
                    #expect(Set(ids).count == ids.count, "none twice")
                    let positions = seen.map(\.position)
                    #expect(zip(positions, positions.dropFirst()).allSatisfy { $0 < $1 }, "positions only increase")
                    for writer in 0..<writers {
                        let own = seen.filter { $0.envelope.source == "w\(writer)" }.map(\.envelope.id)
                        let inItsOrder = own == (0..<perWriter).map { "w\(writer)-\($0)" }
                        #expect(inItsOrder, "writer \(writer)'s events in its order: \(own.count) of \(perWriter) seen")
                    }
                    // And a reader from the start finds the same sequence.
                    let again = try await log.read(after: 0, limit: writers * perWriter + 10)
                    let same = again == seen
                    #expect(same, "a reader from the start sees \(again.count) events")
                }
            }
        }
    }

    /// Several processes starting at once all migrate the same new database; none fails.
    @Test func manyProcessesMigrateOneNewDatabaseAtOnce() async throws {
        let url = try PostgresURL(try await PostgresServer.database("migrate"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<6 {
                group.addTask {
                    try await PostgresEventLog.with(url: url, logger: Self.logger) { log in
                        try await log.migrate()
                        try await log.append([Self.event(index, 0)])
                    }
                }
            }
            try await group.waitForAll()
        }
        let status = try await PostgresEventLog.with(url: url, logger: Self.logger) { try await $0.status() }
        #expect(status.retained == 6)
    }

    /// A consumer waiting on PostgreSQL is woken by an append made through another connection pool
    /// (another process, another machine), not by its one-second poll.
    @Test func anAppendElsewhereWakesAWaitingConsumer() async throws {
        let url = try PostgresURL(try await PostgresServer.database("wake"))
        try await PostgresEventLog.with(url: url, logger: Self.logger) { consumerSide in
            try await consumerSide.migrate()
            guard let wakeup = consumerSide.appendWakeup() else {
                Issue.record("the PostgreSQL log offers no wake-up")
                return
            }
            // An append before the listener is up wakes nobody (consumers poll then): wait for it.
            #expect(try await eventually { consumerSide.isListening })
            await wakeup.wait(timeout: .zero)  // the signal the listener gives when it starts
            try await PostgresEventLog.with(url: url, logger: Self.logger) { writerSide in
                for round in 0..<3 {
                    let started = ContinuousClock.now
                    try await writerSide.append([Self.event(9, round)])
                    await wakeup.wait(timeout: .seconds(60))
                    // 60 s is the "never woken" case; a wake-up arrives in milliseconds even on a busy machine.
                    #expect(ContinuousClock.now - started < .seconds(30), "round \(round) was woken by the append")
                }
            }
        }
    }

    /// `portier events replay` on a group someone holds: the lease ends, the holder's next commit
    /// fails (so it re-reads), and whoever takes the lease starts at the new position.
    @Test(arguments: Engine.allCases) func aRewindEndsTheLeaseAndMovesTheGroup(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in
            try await engine.withLog(dir) { log in
                try await log.append((0..<10).map { Self.event(1, $0) })
                #expect(try await log.acquireLease(group: "g", owner: "a", duration: .seconds(60)) == .granted(position: 0))
                #expect(try await log.commit(group: "g", owner: "a", position: 10, renewFor: .seconds(60)))
                try await log.rewind(group: "g", to: 3)
                #expect(try await log.position(of: "g") == 3)
                #expect(try await !log.commit(group: "g", owner: "a", position: 10, renewFor: .seconds(60)), "the old holder lost its lease")
                #expect(try await log.acquireLease(group: "g", owner: "b", duration: .seconds(60)) == .granted(position: 3))
                #expect(try await log.read(after: 3, limit: 100).map(\.envelope.id) == (3..<10).map { "w1-\($0)" })

                try await log.rewind(group: "new-group", to: 5)
                let status = try await log.status()
                #expect(status.groups.map(\.name) == ["g", "new-group"])
                #expect(status.groups.last?.position == 5 && status.groups.last?.owner == nil)
            }
        }
    }
}
