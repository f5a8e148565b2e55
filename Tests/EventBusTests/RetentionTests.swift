import Foundation
import Logging
import PortierTestSupport
import Testing
@testable import EventBus

/// The shared log's retention on both engines, and `portier events` as an operator runs it.
@Suite struct RetentionTests {
    static let day = 86_400.0

    static func event(_ index: Int, daysAgo: Double) -> EventEnvelope {
        EventEnvelope(
            id: "event-\(index)", type: "Tested", occurredAt: Date().timeIntervalSince1970 - daysAgo * day, bookID: Int64(index), source: "test",
            payload: Data("{}".utf8)
        )
    }

    @Test(arguments: Engine.allCases) func onlyEventsEveryGroupConsumedAndOlderThanTheAgeLeave(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withLog(dir) { log in
            try await log.append((1...4).map { Self.event($0, daysAgo: 10) } + (5...6).map { Self.event($0, daysAgo: 0) })
            let retention = EventLogRetention(log: log, age: .seconds(7 * 86_400), logger: Logger(label: "retention"))
            #expect(await retention.pruneOnce() == 0, "no group has consumed anything yet")

            for (group, position) in [("fast", Int64(3)), ("slow", Int64(2))] {
                _ = try await log.acquireLease(group: group, owner: group + "-1", duration: .seconds(30))
                #expect(try await log.commit(group: group, owner: group + "-1", position: position, renewFor: .seconds(30)))
            }
            // One event per transaction, until nothing is left to delete.
            #expect(try await log.prune(occurredBefore: Date().timeIntervalSince1970 - 7 * Self.day, batch: 1) == 2)
            #expect(await retention.pruneOnce() == 0, "the slowest group holds back everything after position 2")
            #expect(try await log.read(after: 0, limit: 10).map(\.position) == [3, 4, 5, 6])

            for group in ["fast", "slow"] {
                #expect(try await log.commit(group: group, owner: group + "-1", position: 6, renewFor: .seconds(30)))
            }
            #expect(await retention.pruneOnce() == 2, "consumed by all, but events 5 and 6 are recent")
            #expect(try await log.read(after: 0, limit: 10).map(\.position) == [5, 6])

            // Positions are never reused, so what groups hold stays meaningful.
            try await log.append([Self.event(7, daysAgo: 0)])
            #expect(try await log.read(after: 6, limit: 10).map(\.position) == [7])
            let status = try await log.status()
            #expect(status.lastPosition == 7 && status.oldestPosition == 5 && status.retained == 3)
            #expect(status.groups.map(\.name) == ["fast", "slow"] && status.groups.map(\.lag) == [1, 1])
            #expect(status.groups.allSatisfy { $0.owner != nil && $0.leaseSeconds > 0 })
        } }
    }

    @Test(arguments: Engine.allCases) func portierEventsShowsEachGroupsLagAndReplays(engine: Engine) async throws {
        try await TemporaryDirectory.with { dir in try await engine.withLog(dir) { log, arguments in
            try await log.append((1...5).map { Self.event($0, daysAgo: 0) })
            _ = try await log.acquireLease(group: "mypages", owner: "mypages-1", duration: .seconds(30))
            #expect(try await log.commit(group: "mypages", owner: "mypages-1", position: 2, renewFor: .seconds(30)))
            try await log.release(group: "mypages", owner: "mypages-1")

            let process = try ChildProcess(["events"] + arguments)
            #expect(try await process.waitForExit() == 0)
            let output = process.lines.joined(separator: "\n")
            #expect(output.contains("retained   5 events, positions 1...5"), "\(output)")
            let row = try #require(process.lines.first { $0.hasPrefix("mypages") })
            #expect(row.split(separator: " ").prefix(3) == ["mypages", "2", "3"], "position 2, lag 3: \(row)")
            #expect(row.contains("free (no consumer running)"))

            // An operator replays the group; its consumer would re-read everything after position 0.
            let replay = try ChildProcess(["events", "replay", "--group", "mypages", "--from", "0"] + arguments)
            #expect(try await replay.waitForExit() == 0)
            #expect(replay.lines.joined().contains("group mypages moved from position 2 to 0"), "\(replay.lines)")
            #expect(try await log.position(of: "mypages") == 0)

            // A mistyped group or a position beyond the log is refused, and nothing moves.
            let typo = try ChildProcess(["events", "replay", "--group", "mypage", "--from", "0"] + arguments)
            #expect(try await typo.waitForExit() != 0)
            #expect(typo.lines.joined().contains("no consumer group mypage (groups: mypages)"), "\(typo.lines)")
            let beyond = try ChildProcess(["events", "replay", "--group", "mypages", "--from", "99"] + arguments)
            #expect(try await beyond.waitForExit() != 0)
            #expect(beyond.lines.joined().contains("--from must be between 0 and the last position, 5"), "\(beyond.lines)")
            #expect(try await log.status().groups.map(\.name) == ["mypages"])
            #expect(try await log.position(of: "mypages") == 0)

            // Events before the oldest retained one cannot come back: the command says so.
            _ = try await log.acquireLease(group: "mypages", owner: "mypages-1", duration: .seconds(30))
            #expect(try await log.commit(group: "mypages", owner: "mypages-1", position: 5, renewFor: .seconds(30)))
            #expect(try await log.prune(occurredBefore: Date().timeIntervalSince1970 + 60, batch: 10) == 5)
            try await log.append([Self.event(6, daysAgo: 0)])
            let late = try ChildProcess(["events", "replay", "--group", "mypages", "--from", "0"] + arguments)
            #expect(try await late.waitForExit() == 0)
            #expect(late.lines.joined().contains("events before position 6 were pruned"), "\(late.lines)")
        } }
    }

    /// `portier db migrate` before a deployment: the first run creates the schema, the next finds it current.
    @Test func portierDbMigrateCreatesTheSchemaOnce() async throws {
        let url = try await PostgresServer.database("migrate")
        let first = try ChildProcess(["db", "migrate", "--database", url])
        #expect(try await first.waitForExit() == 0)
        let said = first.lines.joined(separator: "\n")
        #expect(said.contains("portier_events: applied v1-log, v2-log-trace"), "\(said)")
        for service in ["rooms", "books", "payments", "notifications", "mypages"] {
            #expect(said.contains("portier_\(service): applied bus-v1, bus-v2-trace, \(service)-v1"), "\(said)")
        }
        let again = try ChildProcess(["db", "migrate"], environment: ["PORTIER_DATABASE_URL": url])
        #expect(try await again.waitForExit() == 0)
        #expect(again.lines.joined().contains("portier_events is up to date"), "\(again.lines)")
        #expect(said.contains("portier_auth: applied v1-clients-and-revocations"), "\(said)")
        #expect(said.contains("portier_gateway: applied"), "\(said)")
        #expect(again.lines.filter { $0.contains("is up to date") }.count == 8, "\(again.lines)")
        let status = try await PostgresEventLog.with(url: try PostgresURL(url), logger: Logger(label: "check")) { try await $0.status() }
        #expect(status.retained == 0 && status.groups.isEmpty)

        let without = try ChildProcess(["db", "migrate"], environment: ["PORTIER_DATABASE_URL": ""])
        #expect(try await without.waitForExit() != 0)
        #expect(without.lines.joined().contains("--database (or PORTIER_DATABASE_URL) is required"), "\(without.lines)")
    }

    @Test func portierEventsRefusesAMissingFileAndAMalformedDatabaseURL() async throws {
        try await TemporaryDirectory.with { dir in
            let missing = try ChildProcess(["events", "--data-dir", dir.sub("nowhere")])
            #expect(try await missing.waitForExit() == 2)
            #expect(missing.lines.joined().contains("no event log at"))

            let malformed = try ChildProcess(["events", "--database", "mysql://root@127.0.0.1/x"])
            #expect(try await malformed.waitForExit() != 0)
            #expect(malformed.lines.joined().contains("--database: invalid database URL: not a postgres:// URL"), "\(malformed.lines)")
        }
    }
}
