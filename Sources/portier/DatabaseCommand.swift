import ArgumentParser
import Books
import EventBus
import Gateway
import MyPages
import Notifications
import Payments
import Rooms
import TokenServer
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
            abstract: "Create or upgrade every schema Portier keeps in PostgreSQL: the event log's and each service's.",
            discussion: "Processes also migrate on start. SQLite files need no command: they are migrated when opened."
        )

        @OptionGroup var database: DatabaseOption

        /// Every schema, each owned by one process.
        static var migrators: [PostgresMigrator] {
            [
                PostgresEventLog.migrator, RoomsService.postgresMigrator, BooksService.postgresMigrator, PaymentsService.postgresMigrator,
                NotificationsService.postgresMigrator, MyPagesService.postgresMigrator, PostgresAuthDatabase.migrator,
                PostgresMigrator(schema: RateLimitStore.schema, migrations: RateLimitStore.migrations.map { .init($0.name, $0.statements) }),
            ]
        }

        func run() async throws {
            guard let url = try database.url() else {
                throw ValidationError("--database (or PORTIER_DATABASE_URL) is required: SQLite files are migrated when opened")
            }
            let logger = Logger(label: "portier-db")
            let outcomes = try await PostgresEventLog.with(url: url, logger: logger) { log in
                var outcomes: [(String, [String])] = []
                for migrator in Self.migrators {
                    outcomes.append((migrator.schema, try await migrator.migrate(log.client, logger: logger)))
                }
                return outcomes
            }
            for (schema, applied) in outcomes {
                Console.write(
                    applied.isEmpty
                        ? "portier db: \(schema) is up to date at \(url)"
                        : "portier db: \(schema): applied \(applied.joined(separator: ", ")) at \(url)"
                )
            }
        }
    }
}
