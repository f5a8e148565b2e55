import ArgumentParser
import EventBus
import Foundation

/// `portier events`: the shared event log at a glance: what it still holds and how far behind
/// each consumer group is.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show the event log: its retained range and each consumer group's position, lag and lease.",
        discussion: "Events every group has consumed leave the log once older than the services' --event-retention-hours (default 168)."
    )

    @Option(name: .customLong("data-dir"), help: "Directory of the SQLite files (env PORTIER_DATA_DIR).")
    var dataDirectory: String = Env.string("PORTIER_DATA_DIR", "./data")

    func run() async throws {
        let path = dataDirectory + "/events.sqlite"
        guard FileManager.default.fileExists(atPath: path) else {
            Console.write("portier events: no event log at \(path) (has a hotel service run with --data-dir \(dataDirectory)?)")
            throw ExitCode(2)
        }
        let status = try await SQLiteEventLog(path: path).status()
        Console.write(Self.report(status, path: path))
    }

    static func report(_ status: SQLiteEventLog.Status, path: String) -> String {
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
        let width = max(5, status.groups.map(\.name.count).max() ?? 0)
        lines.append("")
        lines.append("group".padding(toLength: width, withPad: " ", startingAt: 0) + "  position       lag  lease")
        for group in status.groups {
            let lease: String
            if let owner = group.owner, group.leaseSeconds > 0 {
                lease = "held by \(owner), \(Int(group.leaseSeconds.rounded(.up))) s left"
            } else {
                lease = "free (no consumer running)"
            }
            let position = String(group.position)
            let lag = String(group.lag)
            lines.append(
                group.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                    + String(repeating: " ", count: max(0, 8 - position.count)) + position + "  "
                    + String(repeating: " ", count: max(0, 8 - lag.count)) + lag + "  " + lease
            )
        }
        return lines.joined(separator: "\n")
    }
}
