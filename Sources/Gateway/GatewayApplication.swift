import AsyncHTTPClient
import Foundation
import HummingbirdCore
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import PortierHTTP
import Tracing
public import ServiceLifecycle

/// Process-level settings of `portier gateway` (the routes themselves live in routes.json).
public struct GatewaySettings: Sendable {
    public var host: String
    public var port: Int
    public var routesPath: String
    /// How often routes.json is checked for changes.
    public var watchInterval: Duration
    /// Reload on SIGHUP (off in tests that run several gateways in one process).
    public var reloadOnSIGHUP: Bool
    /// Most connections open to one upstream from one event loop (one per core); requests
    /// beyond them wait for a connection in arrival order.
    public var connectionsPerHost: Int
    /// A client connection that sends nothing for this long is closed (408 if its request body stalled).
    public var idleTimeout: Duration
    /// Largest request head (request line plus header names and values) accepted; above it the
    /// client gets 431 and the connection closes. Envoy's default is 60 KB, nginx's 8-32 KB.
    public var maxHeaderBytes: Int
    /// The admin listener (/metrics, the status page, reloads and the health probes), kept off the
    /// public port. Beyond loopback it asks for a token with the `admin` scope.
    public var adminHost: String
    /// 0 picks a free port (tests); it is logged as "gateway admin listener ready".
    public var adminPort: Int
    /// Share rate limits with the other replicas through PostgreSQL; nil counts them here alone.
    public var rateLimitSharing: RateLimitSharing?
    /// The tracer that exports spans (OTLP), when export is on. Without one the gateway still
    /// continues or starts a W3C trace and sends `traceparent` upstream, recording nothing.
    public var tracer: (any Tracer)?

    public init(
        host: String = "127.0.0.1", port: Int = 8088, routesPath: String = "./routes.json", watchInterval: Duration = .milliseconds(500),
        reloadOnSIGHUP: Bool = true, connectionsPerHost: Int = 512, idleTimeout: Duration = .seconds(60), maxHeaderBytes: Int = 32 * 1024,
        adminHost: String = "127.0.0.1", adminPort: Int = 9088, rateLimitSharing: RateLimitSharing? = nil
    ) {
        self.host = host
        self.port = port
        self.routesPath = routesPath
        self.watchInterval = watchInterval
        self.reloadOnSIGHUP = reloadOnSIGHUP
        self.connectionsPerHost = connectionsPerHost
        self.idleTimeout = idleTimeout
        self.maxHeaderBytes = maxHeaderBytes
        self.adminHost = adminHost
        self.adminPort = adminPort
        self.rateLimitSharing = rateLimitSharing
    }

    /// Most header fields a request may carry (Envoy allows 100; this is generous, and bounds the
    /// separators that the byte limit does not count).
    static let maxHeaderFieldCount = 1000
}

/// A client connection as Hummingbird's server tracks it: it lives until the channel closes.
struct GatewayConnection: ServerChildChannelValue {
    let channel: any Channel
}

/// Sets up each accepted connection: NIO's HTTP/1 request decoder, then ``ProxyChannelHandler``,
/// which answers every request on the connection's event loop with that loop's upstream pool.
struct GatewayChildChannel: ServerChildChannel {
    let core: GatewayCore
    let pools: UpstreamPools
    let idleTimeout: Duration
    let maxHeaderBytes: Int

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<GatewayConnection> {
        channel.eventLoop.makeCompletedFuture {
            // A connection that sends nothing for a while is closed (idle keep-alive, or a client
            // that stalls mid-request); requests waiting for an upstream have the route's timeout.
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: TimeAmount(idleTimeout)))
            // NIO's decoder enforces the head limit as it parses (no copy, no extra pass); an
            // overflow reaches ProxyChannelHandler as HTTPParserError.headerOverflow and becomes 431.
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderListSize = maxHeaderBytes
            limits.maxHeaderFieldSize = maxHeaderBytes
            limits.maxHeaderFieldCount = GatewaySettings.maxHeaderFieldCount
            // Only the decoder: ProxyChannelHandler writes its responses as bytes (ResponseWriter).
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: limits))
            )
            let pool = try pools.pool(for: channel.eventLoop)
            try channel.pipeline.syncOperations.addHandler(ProxyChannelHandler(core: core, pool: pool, maxHeaderBytes: maxHeaderBytes))
            return GatewayConnection(channel: channel)
        }
    }

    func handle(value: GatewayConnection, logger: Logger) async {
        try? await value.channel.closeFuture.get()
    }
}

/// One upstream pool per event loop of the server.
final class UpstreamPools: Sendable {
    private let pools: [ObjectIdentifier: UpstreamPool]

    init(group: MultiThreadedEventLoopGroup, limit: Int) {
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        for loop in group.makeIterator() {
            pools[ObjectIdentifier(loop)] = UpstreamPool(loop: loop, limit: limit, connectTimeout: .seconds(1), idleTimeout: .seconds(60))
        }
        self.pools = pools
    }

    func pool(for loop: any EventLoop) throws -> UpstreamPool {
        guard let pool = pools[ObjectIdentifier(loop)] else { throw ChannelError.inappropriateOperationForState }
        return pool
    }

    /// Closes the idle upstream connections, each on its own loop.
    func shutdown() async {
        for pool in pools.values {
            try? await pool.loop.submit { pool.shutdown() }.get()
        }
    }
}

/// Shuts the HTTP client and the upstream pools down after the HTTP server has drained.
struct HTTPClientService: Service {
    let client: HTTPClient
    let pools: UpstreamPools

    func run() async throws {
        try? await gracefulShutdown()
        await pools.shutdown()
        try await client.shutdown()
    }
}

public enum Gateway {
    /// Reads and validates routes.json (an invalid file is an error: the gateway does not start on
    /// a broken table) and builds the gateway: Hummingbird's HTTP server with the proxy handler,
    /// the routes watcher, the JWKS and revocation-list pollers and, with a database, the
    /// rate-limit sync, as one service group.
    public static func buildService(
        settings: GatewaySettings, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onAdminRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> ServiceGroup {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: settings.routesPath))
        } catch {
            throw ConfigurationError("cannot read \(settings.routesPath): \(error.localizedDescription)")
        }
        let configuration = try GatewayConfiguration.parse(data)

        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.timeout = .init(connect: .seconds(1), read: nil)
        clientConfiguration.redirectConfiguration = .disallow
        // The gateway's own calls (JWKS, introspection, the revocation feed) are not traced: they belong to
        // no request, and a span each would cost ~3% of the gateway's CPU.
        clientConfiguration.tracing.tracer = nil
        clientConfiguration.decompression = .disabled
        clientConfiguration.httpVersion = .http1Only
        clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: settings.connectionsPerHost)
        // A refused connection is an answer (502 and ejection), not something to retry for 10 s.
        clientConfiguration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        let pools = UpstreamPools(group: MultiThreadedEventLoopGroup.singleton, limit: settings.connectionsPerHost)

        let core = try GatewayCore(configuration: configuration, client: client, logger: logger, tracer: settings.tracer)
        let watcher = RouteTableWatcher(
            path: settings.routesPath, core: core, initialContent: data, interval: settings.watchInterval,
            reloadOnSIGHUP: settings.reloadOnSIGHUP, logger: logger
        )
        core.noteReload(outcome: "ok", reason: "start")
        logger.info("routes loaded", metadata: ["path": .string(settings.routesPath), "routes": .array(configuration.routes.map { .string($0.id) })])

        let server = Server(
            childChannelSetup: GatewayChildChannel(core: core, pools: pools, idleTimeout: settings.idleTimeout, maxHeaderBytes: settings.maxHeaderBytes),
            // A burst of new connections (a thousand clients at once) must wait in the accept queue,
            // not be dropped there: a dropped handshake leaves that client's first request waiting a
            // second or more for the retransmit. The kernel caps this at net.core.somaxconn.
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "portier-gateway", backlog: 4096),
            onServerRunning: { channel in
                // NIO accepts 4 connections per wake-up by default; under load, a burst of new
                // clients then waits for its first request to be read while the loop serves the
                // others (seconds at a thousand connections). HAProxy accepts up to 64 at once.
                try? await channel.setOption(ChannelOptions.maxMessagesPerRead, value: 64).get()
                let port = channel.localAddress?.port ?? settings.port
                logger.info("gateway listening", metadata: ["port": .stringConvertible(port)])
                await onServerRunning(port)
            },
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger
        )
        let admin = try AdminListener.application(core: core, watcher: watcher, settings: settings, logger: logger, onServerRunning: onAdminRunning)
        // Shutdown runs in reverse: the servers drain first, the client closes last.
        let clients = HTTPClientService(client: client, pools: pools)
        var services: [any Service] = [clients, watcher, AuthMaintenance(core: core)]
        if let sharing = settings.rateLimitSharing {
            services.append(RateLimitSync(core: core, sharing: sharing, logger: logger))
        }
        var group = ServiceGroupConfiguration(services: services + [admin, server], logger: logger)
        group.gracefulShutdownSignals = []
        return ServiceGroup(configuration: group)
    }
}
