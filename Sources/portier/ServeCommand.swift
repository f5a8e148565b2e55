import ArgumentParser
import Books
import Foundation
import HotelSupport
import Hummingbird
import Logging
import MyPages
import Notifications
import Payments
import PortierClients
import PortierHTTP
import Rooms
import ServiceLifecycle

/// `portier serve <service>`: one hotel service on its own.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run one hotel service: rooms (8081), books (8082), payments (8083), notifications (8084) or mypages (8085)."
    )

    enum Name: String, ExpressibleByArgument, CaseIterable {
        case rooms, books, payments, notifications, mypages

        var defaultPort: Int {
            switch self {
            case .rooms: return 8081
            case .books: return 8082
            case .payments: return 8083
            case .notifications: return 8084
            case .mypages: return 8085
            }
        }
    }

    @Argument(help: "rooms, books, payments, notifications or mypages.") var service: Name

    @Option(help: "Address to listen on (env PORTIER_HOST).")
    var host: String = Env.string("PORTIER_HOST", "127.0.0.1")

    @Option(help: "Port to listen on; 0 picks a free one. Default: the service's own port (env PORTIER_<SERVICE>_PORT).")
    var port: Int?

    @Option(name: .customLong("data-dir"), help: "Directory of the SQLite files (env PORTIER_DATA_DIR).")
    var dataDirectory: String = Env.string("PORTIER_DATA_DIR", "./data")

    @OptionGroup var database: DatabaseOption

    @OptionGroup var admin: AdminOptions

    @Option(
        name: .customLong("event-retention-hours"),
        help: "Consumed events older than this leave the shared event log, checked hourly (env PORTIER_EVENT_RETENTION_HOURS)."
    )
    var eventRetentionHours: Int = Env.int("PORTIER_EVENT_RETENTION_HOURS", 168)

    @Option(name: .customLong("payments-url"), help: "books: base URL of the payments service (env PORTIER_PAYMENTS_URL).")
    var paymentsURL: String = Env.string("PORTIER_PAYMENTS_URL", "http://127.0.0.1:8083")

    @Option(name: .customLong("hold-seconds"), help: "books: how long an unfinished booking holds its dates (its payment is voided 5 s later).")
    var holdSeconds: Double = 30

    @Option(name: .customLong("webhook-url"), help: "notifications: also POST every notification to this URL (env PORTIER_WEBHOOK_URL).")
    var webhookURL: String?

    @Option(name: .customLong("auth-url"), help: "books, payments, and any service whose admin listener requires tokens: base URL of the token server (env PORTIER_AUTH_URL).")
    var authURL: String = Env.string("PORTIER_AUTH_URL", ServiceAuthSettings.defaultAuthURL)

    @Option(
        name: .customLong("jwks-url"), help: "payments: the token server's JWKS; default <auth-url>/.well-known/jwks.json (env PORTIER_JWKS_URL)."
    )
    var jwksURL: String?

    @Option(help: "payments: required issuer (iss) of service tokens; default the auth URL (env PORTIER_ISSUER).")
    var issuer: String?

    @Option(help: "payments: required audience (aud) of service tokens (env PORTIER_AUDIENCE).")
    var audience: String = Env.string("PORTIER_AUDIENCE", "hotel-api")

    @Option(name: .customLong("client-id"), help: "books: its client at the token server (env PORTIER_CLIENT_ID).")
    var clientID: String = Env.string("PORTIER_CLIENT_ID", BooksSettings.clientID)

    @Option(
        name: .customLong("client-secret-file"),
        help: """
            books: file with its client secret; default <data-dir>/books-client.secret, which the token server writes \
            (env PORTIER_CLIENT_SECRET_FILE).
            """
    )
    var clientSecretFile: String?

    func run() async throws {
        let name = service.rawValue
        let telemetry = try Telemetry.bootstrap(service: name)
        let logger = Logger(label: name)
        let port = self.port ?? Env.int("PORTIER_\(name.uppercased())_PORT", service.defaultPort)
        guard eventRetentionHours >= 1, eventRetentionHours <= 100 * 365 * 24 else {
            throw ValidationError("--event-retention-hours must be between 1 and 876000, got \(eventRetentionHours)")
        }
        let auth = ServiceAuthSettings(
            authURL: authURL, jwksURL: jwksURL ?? Env.optional("PORTIER_JWKS_URL"), issuer: issuer ?? Env.optional("PORTIER_ISSUER"),
            audience: audience
        )
        let settings = HotelServiceSettings(
            host: host, port: port, dataDirectory: dataDirectory, eventRetention: .seconds(eventRetentionHours * 3600),
            database: try database.url(), admin: try adminEndpoint(name: name, port: port, auth: auth, logger: logger)
        )
        switch service {
        case .rooms:
            try await ServiceRunner.run(try RoomsService.build(settings: settings, logger: logger), telemetry: telemetry, logger: logger)
        case .books:
            let secretFile = clientSecretFile ?? Env.optional("PORTIER_CLIENT_SECRET_FILE") ?? dataDirectory + "/books-client.secret"
            let books = BooksSettings(
                paymentsURL: paymentsURL, holdSeconds: max(1, holdSeconds),
                serviceToken: .init(tokenURL: auth.tokenURL, clientID: clientID, secretFile: secretFile, scope: PaymentsContract.writeScope)
            )
            try await ServiceRunner.run(try BooksService.build(settings: settings, books: books, logger: logger), telemetry: telemetry, logger: logger)
        case .payments:
            try await ServiceRunner.run(try PaymentsService.build(settings: settings, auth: auth, logger: logger), telemetry: telemetry, logger: logger)
        case .notifications:
            let webhook = webhookURL ?? Env.optional("PORTIER_WEBHOOK_URL")
            try await ServiceRunner.run(try NotificationsService.build(settings: settings, webhookURL: webhook, logger: logger), telemetry: telemetry, logger: logger)
        case .mypages:
            try await ServiceRunner.run(try MyPagesService.build(settings: settings, logger: logger), telemetry: telemetry, logger: logger)
        }
    }
}

extension ServeCommand {
    /// The service's admin listener; beyond loopback its tokens are checked against the token
    /// server's JWKS (the one fetched only when a token comes).
    func adminEndpoint(name: String, port: Int, auth: ServiceAuthSettings, logger: Logger) throws -> AdminEndpoint {
        let settings = try admin.settings(process: name, publicPort: port)
        guard settings.requiresToken else { return try AdminEndpoint(settings: settings, verifier: nil) }
        let verifier = JWKSAdminTokenVerifier(settings: auth, logger: logger)
        return try AdminEndpoint(settings: settings, verifier: verifier.closure, companions: [verifier.lifecycle])
    }
}
