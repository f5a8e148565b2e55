import EventBus
import Logging
import PortierTestSupport
import Testing

/// The two engines of the event log; tests that take one run on both.
enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// Runs `body` on a new, empty log: a file in `dir`, or a database of its own in the tests'
    /// PostgreSQL cluster (``PostgresServer``).
    func withLog<T: Sendable>(_ dir: TemporaryDirectory, _ body: @Sendable (any EventLog) async throws -> T) async throws -> T {
        try await withLog(dir) { log, _ in try await body(log) }
    }

    /// The same, also passing the arguments that point `portier events` at that log.
    func withLog<T: Sendable>(_ dir: TemporaryDirectory, _ body: @Sendable (any EventLog, [String]) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            return try await body(try SQLiteEventLog(path: dir.sub("events.sqlite")), ["--data-dir", dir.path])
        case .postgres:
            let url = try await PostgresServer.database("events")
            return try await PostgresEventLog.with(url: try PostgresURL(url), logger: Logger(label: "pg-log")) { try await body($0, ["--database", url]) }
        }
    }
}
