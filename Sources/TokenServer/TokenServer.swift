import EventBus
import Foundation
import ServiceLifecycle
public import Hummingbird
import HummingbirdCore
public import Logging
import PortierHTTP
import Tokens

/// Builds the token server (`portier auth`).
public enum TokenServer {
    /// The demo client created on a first start, with its only copy of the secret.
    public struct DemoClient: Sendable {
        public let id: String
        public let secret: String
        public let scopes: [String]
    }

    /// Opens the stores and keys, creating the first key and the demo client when missing, and
    /// returns the application with the demo client (if one was just created).
    public static func buildApplication(
        configuration: TokenServerConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> (application: some ApplicationProtocol, demoClient: DemoClient?) {
        let (database, pool) = try storage(configuration, logger: logger)
        let clients = ClientStore(database: database)
        let revocations = RevocationStore(database: database)
        let keyStore = KeyStore(directory: configuration.keysDirectory)
        let hadKeys = !(try keyStore.privateKeyFileNames().isEmpty)
        let keys = try KeyRingHolder(store: keyStore)
        if !hadKeys {
            logger.info("generated a first signing key", metadata: ["kid": .string(keys.current.signer.kid), "dir": .string(keyStore.directory)])
        }

        let demo = try await withSetUpStorage(configuration, running: database, logger: logger) { storage in
            try await setUp(ClientStore(database: storage), configuration: configuration, logger: logger)
        }

        let shared = database as? PostgresAuthDatabase
        let metrics = TokenServerMetrics(clientLabelLimit: configuration.metricsClientLimit)
        let authenticator = ClientAuthenticator(
            clients: clients, trustedProxies: configuration.trustedProxies, policy: configuration.bruteForce, logger: logger,
            sharesFailures: shared != nil, metrics: metrics
        )
        let controller = OAuthController(
            configuration: configuration, clients: clients, revocations: revocations, keys: keys, authenticator: authenticator, logger: logger
        )
        // Replicas on one database count each other's failed authentications.
        let sharing: [any Service] = shared.map {
            [SharedFailures(authenticator: authenticator, database: $0, window: configuration.bruteForce.window, logger: logger)]
        } ?? []
        let router = MethodSemantics.router()
        // Outermost: the access line and every line of the request carry its trace ids.
        router.add(middleware: TraceMiddleware())
        // Next, so it sees the status the access log renders for errors.
        router.add(middleware: RequestMetricsMiddleware(metrics.requests))
        router.add(middleware: AccessLogMiddleware(logger: logger))
        controller.addRoutes(to: router)
        let ready: @Sendable () async -> String? = {
            await database.isReachable() ? nil : "the client database is not reachable"
        }
        HealthRoutes.add(to: router, ready: ready)
        let admin = try configuration.admin.map { settings -> any Service in
            let endpoint = try AdminEndpoint(settings: settings, verifier: controller.adminTokenCheck)
            return AdminServer.application(process: "auth", endpoint: endpoint, metrics: metrics.process, logger: logger, ready: ready)
        }
        MethodSemantics.complete(router)

        let maintenance = TokenServerMaintenance(keys: keys, revocations: revocations, interval: configuration.keyPollInterval, logger: logger)
        let serverName = "portier-auth"
        let fastPath = TokenFastPath(controller: controller, serverName: serverName)
        let application = Application(
            router: router,
            server: HTTPServerBuilder { responder in TokenServerChannel(http1: HTTP1Channel(responder: responder), fastPath: fastPath) },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: serverName),
            // The pool first: it starts first and stops last.
            services: [pool].compactMap { $0 } + [maintenance] + sharing + [admin].compactMap { $0 },
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                logger.info("token server listening", metadata: ["port": .stringConvertible(port), "issuer": .string(configuration.resolvedIssuer)])
                await onServerRunning(port)
            },
            logger: logger
        )
        return (application, demo)
    }

    /// Creates the demo client on an empty store, and the internal clients.
    static func setUp(_ clients: ClientStore, configuration: TokenServerConfiguration, logger: Logger) async throws -> DemoClient? {
        var demo: DemoClient?
        if configuration.createDemoClient, try await clients.count() == 0 {
            do {
                let (client, secret) = try await clients.add(id: "hotel-client", scopes: ["read", "write"], authorities: ["ROLE_CLIENT"])
                demo = DemoClient(id: client.id, secret: secret, scopes: client.scopes)
                logger.info("created demo client", metadata: ["client_id": .string(client.id)])
            } catch ClientStoreError.duplicate(_) {
                // Another replica on the same database created it a moment ago; its log has the secret.
            }
        }
        for client in configuration.internalClients {
            // A shared database's clients are in use by replicas elsewhere: never re-keyed from here.
            try await InternalClients.provision(client, in: clients, rekeysStale: configuration.database == nil, logger: logger)
        }
        return demo
    }

    /// Runs the set-up before the application (and so its pool) runs: on PostgreSQL with a pool
    /// of its own for the while.
    static func withSetUpStorage<T: Sendable>(
        _ configuration: TokenServerConfiguration, running database: any AuthStorage, logger: Logger, _ body: @Sendable (any AuthStorage) async throws -> T
    ) async throws -> T {
        guard let url = configuration.database else { return try await body(database) }
        return try await PostgresEventLog.with(url: url, logger: logger, listens: false) { pool in try await body(PostgresAuthDatabase(pool: pool)) }
    }

    /// The clients' and revocations' store: the SQLite file, or PostgreSQL with a connection pool
    /// that the application runs.
    static func storage(_ configuration: TokenServerConfiguration, logger: Logger) throws -> (any AuthStorage, (any Service)?) {
        guard let url = configuration.database else { return (try AuthDatabase(dataDirectory: configuration.dataDirectory), nil) }
        let pool = PostgresEventLog(url: url, logger: logger, listens: false, searchPath: PostgresAuthDatabase.migrator.schema)
        return (PostgresAuthDatabase(pool: pool), pool)
    }
}
