import ArgumentParser
import EventBus
import Gateway
import Hummingbird
import Logging
import PortierHTTP
import ServiceLifecycle

/// `portier gateway`: the reverse proxy in front of the hotel services.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run the API gateway: routing, JWT checks, rate limits, circuit breakers, hot-reloaded routes.json."
    )

    @Option(help: "Address to listen on (env PORTIER_GATEWAY_HOST).")
    var host: String = Env.string("PORTIER_GATEWAY_HOST", "127.0.0.1")

    @Option(help: "Port to listen on; 0 picks a free one (env PORTIER_GATEWAY_PORT).")
    var port: Int = Env.int("PORTIER_GATEWAY_PORT", 8088)

    @Option(help: "The route table, reloaded when it changes (env PORTIER_ROUTES).")
    var routes: String = Env.string("PORTIER_ROUTES", "./routes.json")

    @Option(name: .customLong("watch-interval-ms"), help: "How often routes.json is checked for changes, in milliseconds.")
    var watchIntervalMillis: Int = 500

    @Option(name: .customLong("idle-timeout-seconds"), help: "Close a client connection that sends nothing for this long (408 if mid-request).")
    var idleTimeoutSeconds: Int = 60

    @Option(
        name: .customLong("max-header-bytes"),
        help: "Largest request head (request line and headers) accepted; larger ones get 431 (env PORTIER_GATEWAY_MAX_HEADER_BYTES)."
    )
    var maxHeaderBytes: Int = Env.int("PORTIER_GATEWAY_MAX_HEADER_BYTES", 32 * 1024)

    @Option(name: .customLong("admin-host"), help: "Address of the admin listener: /metrics and health probes (env PORTIER_GATEWAY_ADMIN_HOST).")
    var adminHost: String = Env.string("PORTIER_GATEWAY_ADMIN_HOST", "127.0.0.1")

    @Option(name: .customLong("admin-port"), help: "Port of the admin listener; 0 picks a free one (env PORTIER_GATEWAY_ADMIN_PORT).")
    var adminPort: Int = Env.int("PORTIER_GATEWAY_ADMIN_PORT", 9088)

    @Option(
        name: .customLong("database"),
        help: """
            PostgreSQL URL (postgres://user:password@host:port/db?sslmode=...) through which the gateway replicas share their \
            rate limits; without it each gateway limits on its own (env PORTIER_DATABASE_URL).
            """
    )
    var database: String?

    func validate() throws {
        guard (1024...(1 << 20)).contains(maxHeaderBytes) else {
            throw ValidationError("--max-header-bytes must be between 1024 and 1048576, got \(maxHeaderBytes)")
        }
        guard (0...65535).contains(adminPort) else { throw ValidationError("--admin-port must be between 0 and 65535, got \(adminPort)") }
    }

    func run() async throws {
        let telemetry = try Telemetry.bootstrap(service: "gateway")
        let logger = Logger(label: "gateway")
        var settings = GatewaySettings(
            host: host, port: port, routesPath: routes, watchInterval: .milliseconds(max(50, watchIntervalMillis)),
            idleTimeout: .seconds(max(1, idleTimeoutSeconds)), maxHeaderBytes: maxHeaderBytes, adminHost: adminHost, adminPort: adminPort,
            rateLimitSharing: try rateLimitSharing()
        )
        settings.tracer = telemetry.exporter
        let gateway = try Gateway.buildService(settings: settings, logger: logger)
        try await ServiceRunner.run(gateway, telemetry: telemetry, logger: logger)
    }
}

extension GatewayCommand {
    /// Schema `portier_gateway`: the table through which gateway replicas share rate limits.
    static var rateLimitMigrator: PostgresMigrator {
        PostgresMigrator(schema: RateLimitStore.schema, migrations: RateLimitStore.migrations.map { PostgresMigrator.Migration($0.name, $0.statements) })
    }

    /// Rate-limit sharing through the database, if one is given: the URL parsed as every command
    /// parses it, and schema `portier_gateway` created by the same migrator as the others.
    func rateLimitSharing() throws -> RateLimitSharing? {
        guard let text = database ?? Env.optional("PORTIER_DATABASE_URL") else { return nil }
        let url: PostgresURL
        do {
            url = try PostgresURL(text)
        } catch {
            throw ValidationError("--database: \(error)")
        }
        var configuration = url.clientConfiguration
        // One exchange at a time, plus the expiry; a statement or lock wait past 5 s is given up by
        // the server too, so rows a stuck exchange holds are not held for long.
        configuration.options.maximumConnections = 2
        configuration.options.additionalStartupParameters = [
            ("application_name", "portier-gateway"), ("statement_timeout", "5s"), ("lock_timeout", "5s"),
            ("idle_in_transaction_session_timeout", "30s"),
        ]
        let migrator = Self.rateLimitMigrator
        return RateLimitSharing(
            database: configuration, databaseDescription: url.description,
            migrate: { client, logger in try await migrator.migrate(client, logger: logger) }
        )
    }
}

/// Runs a server until SIGTERM or SIGINT, then drains it: no new connections, in-flight requests
/// finish (for at most 10 s), and the process exits 0.
enum ServiceRunner {
    /// The telemetry's service (span export) runs first and stops last, after the server's final
    /// requests, so their spans are flushed.
    static func run(_ service: some Service, telemetry: Telemetry, logger: Logger) async throws {
        let services: [any Service] = [telemetry.service].compactMap { $0 } + [service]
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(10)
        configuration.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: configuration).run()
    }
}
