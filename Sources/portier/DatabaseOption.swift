import ArgumentParser
import EventBus

/// `--database postgres://...` (env `PORTIER_DATABASE_URL`): where the shared state lives when one
/// machine is not enough. Without it, the SQLite files in the data directory.
struct DatabaseOption: ParsableArguments {
    @Option(
        name: .customLong("database"),
        help: """
            PostgreSQL URL (postgres://user:password@host:port/db?sslmode=disable|prefer|require) of the event log; \
            default: the SQLite file in the data directory (env PORTIER_DATABASE_URL).
            """
    )
    var database: String?

    /// The parsed URL, nil for SQLite. A malformed URL stops the command with a one-line reason.
    func url() throws -> PostgresURL? {
        guard let text = database ?? Env.optional("PORTIER_DATABASE_URL") else { return nil }
        do {
            return try PostgresURL(text)
        } catch {
            throw ValidationError("--database: \(error)")
        }
    }
}
