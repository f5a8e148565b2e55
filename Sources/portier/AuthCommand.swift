import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PortierHTTP
import TokenServer

/// `portier auth`: the OAuth2 client-credentials token server.
struct AuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth",
        abstract: "Run the OAuth2 token server (client credentials, JWKS, introspection, revocation)."
    )

    @Option(help: "Address to listen on (env PORTIER_AUTH_HOST).")
    var host: String = Env.string("PORTIER_AUTH_HOST", "127.0.0.1")

    @Option(help: "Port to listen on; 0 picks a free one (env PORTIER_AUTH_PORT).")
    var port: Int = Env.int("PORTIER_AUTH_PORT", 8090)

    @Option(name: .customLong("data-dir"), help: "Directory of the SQLite files (env PORTIER_DATA_DIR).")
    var dataDirectory: String = Env.string("PORTIER_DATA_DIR", "./data")

    @Option(name: .customLong("keys-dir"), help: "Directory of the signing keys (env PORTIER_KEYS_DIR).")
    var keysDirectory: String = Env.string("PORTIER_KEYS_DIR", "./keys")

    @Option(help: "Issuer (iss) of the tokens; default http://<host>:<port> (env PORTIER_ISSUER).")
    var issuer: String?

    @Option(help: "Audience (aud) of the tokens (env PORTIER_AUDIENCE).")
    var audience: String = Env.string("PORTIER_AUDIENCE", "hotel-api")

    @Option(
        name: .customLong("trusted-proxy"),
        help: "Proxy whose X-Forwarded-For is believed (IP or IPv4 CIDR; repeatable). Default: loopback."
    )
    var trustedProxies: [String] = []

    @Option(
        name: .customLong("demo-secret-file"),
        help: "Write a newly created demo client's secret to this file (mode 0600) instead of printing it (portier up uses this)."
    )
    var demoSecretFile: String?

    @OptionGroup var database: DatabaseOption

    @OptionGroup var admin: AdminOptions

    @Option(
        name: .customLong("metrics-client-limit"),
        help: "Clients with a series of their own in portier_auth_tokens_issued_total; the rest count as other (env PORTIER_METRICS_CLIENT_LIMIT)."
    )
    var metricsClientLimit: Int = Env.int("PORTIER_METRICS_CLIENT_LIMIT", 20)

    func run() async throws {
        let telemetry = try Telemetry.bootstrap(service: "auth")
        let logger = Logger(label: "auth")
        var configuration = TokenServerConfiguration(
            host: host, port: port, dataDirectory: dataDirectory, keysDirectory: keysDirectory, issuer: issuer ?? Env.optional("PORTIER_ISSUER"), audience: audience
        )
        configuration.database = try database.url()
        configuration.admin = try admin.settings(process: "auth", publicPort: port)
        guard (0...10_000).contains(metricsClientLimit) else {
            throw ValidationError("--metrics-client-limit must be between 0 and 10000, got \(metricsClientLimit)")
        }
        configuration.metricsClientLimit = metricsClientLimit
        if !trustedProxies.isEmpty {
            configuration.trustedProxies = try TrustedProxies(trustedProxies)
        }
        let (application, demo) = try await TokenServer.buildApplication(configuration: configuration, logger: logger)
        if let demo, let demoSecretFile {
            // Not on stdout: under `portier up` that is a log file. `portier up` shows it once on its terminal.
            try SecretFiles.write(demo.secret, to: demoSecretFile)
            logger.info(
                "created the demo client; its secret is in the file", metadata: ["client_id": .string(demo.id), "secret_file": .string(demoSecretFile)]
            )
        } else if let demo {
            let base = "http://\(host):\(port)"
            Console.write(
                """

                  A demo client was created. Its secret is shown only this once; keep it.
                    client_id:     \(demo.id)
                    client_secret: \(demo.secret)
                    scopes:        \(demo.scopes.joined(separator: " "))

                  Get a token:
                    curl -s -u \(demo.id):\(demo.secret) -d grant_type=client_credentials \(base)/oauth/token

                """
            )
        }
        try await ServiceRunner.run(application, telemetry: telemetry, logger: logger)
    }
}
