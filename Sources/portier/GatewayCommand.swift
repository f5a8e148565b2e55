import ArgumentParser
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

    func run() async throws {
        JSONLogHandler.bootstrap(service: "gateway")
        let logger = Logger(label: "gateway")
        let settings = GatewaySettings(
            host: host, port: port, routesPath: routes, watchInterval: .milliseconds(max(50, watchIntervalMillis)),
            idleTimeout: .seconds(max(1, idleTimeoutSeconds))
        )
        let gateway = try Gateway.buildService(settings: settings, logger: logger)
        try await ServiceRunner.run(gateway, logger: logger)
    }
}

/// Runs a server until SIGTERM or SIGINT, then drains it: no new connections, in-flight requests
/// finish (for at most 10 s), and the process exits 0.
enum ServiceRunner {
    static func run(_ service: some Service, logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(10)
        configuration.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: configuration).run()
    }
}
