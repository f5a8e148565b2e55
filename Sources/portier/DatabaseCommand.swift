import ArgumentParser
import EventBus
import Logging

/// `portier db migrate`: creates or upgrades the PostgreSQL schemas before a deployment, so the
/// first replicas to start do not race to do it (they would wait for each other; this is tidier).
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the PostgreSQL database given by --database.",
        subcommands: [Migrate.self]
    )

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or upgrade every schema Portier keeps in PostgreSQL (today: portier_events, the event log).",
            discussion: "Processes also migrate on start. SQLite files need no command: they are migrated when opened."
        )

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            guard let url = try database.url() else {
                throw ValidationError("--database (or PORTIER_DATABASE_URL) is required: SQLite files are migrated when opened")
            }
            let applied = try await PostgresEventLog.with(url: url, logger: Logger(label: "portier-db")) { log in
                try await PostgresEventLog.migrator.migrate(log.client, logger: Logger(label: "portier-db"))
            }
            let schema = PostgresEventLog.schema
            Console.write(
                applied.isEmpty
                    ? "portier db: \(schema) is up to date at \(url)"
                    : "portier db: \(schema): applied \(applied.joined(separator: ", ")) at \(url)"
            )
        }
    }
}
