import ArgumentParser
import EventBus
import Foundation
import Logging

/// `portier events`: the shared event log at a glance, and moving a consumer group.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show the event log, or replay a consumer group from a position.",
        subcommands: [Status.self, Replay.self],
        defaultSubcommand: Status.self
    )

    /// Where the log is: `--database`, else `<data-dir>/events.sqlite`.
    struct Location: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "Directory of the SQLite files (env PORTIER_DATA_DIR).")
        var dataDirectory: String = Env.string("PORTIER_DATA_DIR", "./data")

        @OptionGroup var database: DatabaseOption

        /// Runs `body` on the log; a missing SQLite file is an error, not a new empty log.
        func with<T: Sendable>(_ body: @Sendable (any EventLog, String) async throws -> T) async throws -> T {
            if let url = try database.url() {
                return try await PostgresEventLog.with(url: url, logger: Logger(label: "portier-events")) { log in
                    try await body(log, url.description)
                }
            }
            let path = dataDirectory + "/events.sqlite"
            guard FileManager.default.fileExists(atPath: path) else {
                Console.write("portier events: no event log at \(path) (has a hotel service run with --data-dir \(dataDirectory)?)")
                throw ExitCode(2)
            }
            return try await body(try SQLiteEventLog(path: path), path)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The log's retained range and each consumer group's position, lag and lease.",
            discussion: "Events every group has consumed leave the log once older than the services' --event-retention-hours (default 168)."
        )

        @OptionGroup var location: Location

        func run() async throws {
            let (status, name) = try await location.with { log, name in (try await log.status(), name) }
            Console.write(EventsCommand.report(status, path: name))
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a consumer group back to a position; its running member re-reads from there.",
            discussion: """
                Events the group's service has already applied are skipped by its de-duplication, unless its own \
                store was reset (to rebuild mypages' view, say: stop mypages, remove its data, replay from 0, start it). \
                Only events still retained can be replayed; `portier events` shows the oldest.
                """
        )

        @OptionGroup var location: Location
        @Option(help: "The consumer group (the service's name: rooms, books, payments, notifications, mypages).") var group: String
        @Option(help: "Re-read the events after this position (0 for everything retained).") var from: Int64
        @Flag(help: "Create the group when it does not exist yet (a new consumer that should start at --from).") var create = false

        func run() async throws {
            let group = self.group
            let from = self.from
            let create = self.create
            let outcome = try await location.with { log, _ -> Result<(Int64, EventLogStatus), ValidationError> in
                let status = try await log.status()
                let existing = status.groups.first { $0.name == group }
                // A mistyped name would create a group nobody consumes, which holds pruning back for good.
                guard existing != nil || create else {
                    let known = status.groups.map(\.name).joined(separator: ", ")
                    return .failure(ValidationError("no consumer group \(group) (groups: \(known.isEmpty ? "none" : known)); --create makes one"))
                }
                guard from >= 0, from <= status.lastPosition else {
                    return .failure(ValidationError("--from must be between 0 and the last position, \(status.lastPosition)"))
                }
                try await log.rewind(group: group, to: from)
                return .success((existing?.position ?? 0, status))
            }
            let (before, status) = try outcome.get()
            Console.write("portier events: group \(group) moved from position \(before) to \(from)")
            // Everything up to the oldest retained event's predecessor was pruned (or all of it).
            let firstRetained = status.oldestPosition ?? (status.lastPosition == Int64.max ? Int64.max : status.lastPosition + 1)
            if from < firstRetained - 1 {
                Console.write("portier events: warning: events before position \(firstRetained) were pruned and cannot be replayed")
            }
        }
    }

    static func report(_ status: EventLogStatus, path: String) -> String {
        var lines = ["event log  \(path)"]
        if let oldest = status.oldestPosition, let occurred = status.oldestOccurredAt {
            let date = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: occurred))
            lines.append("retained   \(status.retained) events, positions \(oldest)...\(status.lastPosition), the oldest from \(date)")
        } else {
            lines.append("retained   none; last position \(status.lastPosition)")
        }
        if status.groups.isEmpty {
            lines.append("groups     none yet (nothing is pruned until a group has consumed)")
            return lines.joined(separator: "\n")
        }
        let width = max(5, status.groups.map { $0.name.count }.max() ?? 0)
        lines.append("")
        lines.append(pad("group", width) + "  position       lag  lease")
        for group in status.groups {
            let lease: String
            if let owner = group.owner, group.leaseSeconds > 0 {
                lease = "held by \(owner), \(Int(group.leaseSeconds.rounded(.up))) s left"
            } else {
                lease = "free (no consumer running)"
            }
            let position: String = padLeft(String(group.position), 8)
            let lag: String = padLeft(String(group.lag), 8)
            lines.append(pad(group.name, width) + "  " + position + "  " + lag + "  " + lease)
        }
        return lines.joined(separator: "\n")
    }

    static func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
    static func padLeft(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
}
