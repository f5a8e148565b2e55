import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PortierHTTP
import ServiceLifecycle
import Synchronization

/// The gateway's operational endpoints on their own listener, bound to loopback by default
/// (127.0.0.1:9088): metrics name every route and upstream, and the status page shows client ids,
/// which is nothing for the public port (Kong's admin API and Envoy's admin interface are separate
/// listeners too).
///
/// - `GET /metrics`: Prometheus text.
/// - `GET /status`: a self-contained HTML page that updates itself every second.
/// - `GET /status.json`: the same data for scripts (and `portier status`).
/// - `GET /status/events`: that document again every second, as server-sent events.
/// - `POST /admin/reload`: reads routes.json now; answers what happened.
/// - `GET /health/live`, `GET /health/ready`: the probes, as on the public port.
///
/// Bound beyond loopback, every request but the health probes needs a bearer token with the
/// `admin` scope from the token server the routes trust (the `auth` section of routes.json).
enum AdminListener {
    /// How often /status/events sends the document.
    static let eventInterval = Duration.seconds(1)

    static func application(
        core: GatewayCore, watcher: RouteTableWatcher, settings: GatewaySettings, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = MethodSemantics.router()
        router.add(middleware: AccessLogMiddleware(logger: logger))
        if settings.adminRequiresToken {
            router.add(middleware: AdminTokenMiddleware(core: core))
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: core.metrics.render(routes: core.table.routes)))
            )
        }
        router.get("/health/live") { _, _ in response(core.builtIn(path: "/health/live", method: .get)) }
        router.get("/health/ready") { _, _ in response(core.builtIn(path: "/health/ready", method: .get)) }
        router.get("/status") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store", .contentSecurityPolicy: StatusPage.contentSecurityPolicy],
                body: .init(byteBuffer: ByteBuffer(string: StatusPage.html))
            )
        }
        router.get("/status.json") { _, _ -> Response in
            JSONResponse.make(core.status(), headers: [.cacheControl: "no-store"])
        }
        router.get("/status/events") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                body: ResponseBody { writer in
                    // Ends with the client, or when the gateway stops: a stream left open must not hold up a graceful shutdown.
                    let stopping = Atomic<Bool>(false)
                    try await withGracefulShutdownHandler {
                        while !stopping.load(ordering: .relaxed) {
                            try await writer.write(try event(core.status()))
                            try await Task.sleep(for: eventInterval)
                        }
                    } onGracefulShutdown: {
                        stopping.store(true, ordering: .relaxed)
                    }
                    try await writer.finish(nil)
                }
            )
        }
        router.post("/admin/reload") { _, _ -> Response in
            guard let record = watcher.check(reason: "admin API", force: true) else {
                throw APIError(.internalServerError, "reload_failed", "the reload did not report an outcome")
            }
            let version = core.currentSnapshot.version
            switch record.outcome {
            case "ok":
                return JSONResponse.make(ReloadAnswer(status: "reloaded", version: version, reload: record))
            case "unreadable":
                throw APIError(.internalServerError, "routes_unreadable", record.error ?? "routes.json cannot be read; the previous table keeps serving")
            default:
                throw APIError(
                    .unprocessableContent, "routes_rejected",
                    "routes.json was rejected; the previous table (version \(version)) keeps serving: \(record.error ?? "invalid")"
                )
            }
        }
        MethodSemantics.complete(router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(settings.adminHost, port: settings.adminPort), serverName: "portier-gateway-admin"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.adminPort
                logger.info(
                    "gateway admin listener ready",
                    metadata: [
                        "host": .string(settings.adminHost), "port": .stringConvertible(port),
                        "requires_token": .stringConvertible(settings.adminRequiresToken),
                    ]
                )
                await onServerRunning(port)
            },
            logger: logger
        )
    }

    struct ReloadAnswer: Encodable {
        var status: String
        var version: UInt64
        var reload: ReloadRecord
    }

    /// One server-sent event carrying the status document.
    static func event(_ status: GatewayStatus) throws -> ByteBuffer {
        var buffer = ByteBuffer(string: "event: status\ndata: ")
        // JSONEncoder escapes nothing as a newline: the document is one line, as an SSE data field must be.
        buffer.writeBytes(try JSONEncoder().encode(status))
        buffer.writeString("\n\n")
        return buffer
    }

    static func response(_ local: GatewayCore.LocalResponse?) -> Response {
        guard let local else { return Response(status: .notFound) }
        return Response(status: local.status, headers: local.headers, body: .init(byteBuffer: local.body))
    }
}

/// Admits admin requests that carry a valid token with the `admin` scope (the listener is bound
/// beyond loopback). Without an `auth` section in routes.json there is nothing to verify tokens
/// with, and every request gets 503: the listener never opens up by accident.
struct AdminTokenMiddleware: RouterMiddleware {
    typealias Context = PortierRequestContext
    let core: GatewayCore
    static let scope = "admin"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The probes stay open, as on the public port: Kubernetes cannot send a token.
        if request.uri.path.hasPrefix("/health/") { return try await next(request, context) }
        guard let guardian = core.authGuard else {
            throw APIError.serviceUnavailable(
                "the admin listener is bound beyond loopback and needs an admin token, but routes.json has no auth section to verify it with",
                retryAfter: 5
            )
        }
        let authorization = request.headers[.authorization]
        var memo = TokenCache.Memo()
        var outcome = guardian.check(authorization: authorization, method: request.method, required: [Self.scope], on: "admin", memo: &memo)
        if case .needsKeys(let kid) = outcome {
            outcome = await guardian.checkAfterLoadingKeys(authorization: authorization, method: request.method, required: [Self.scope], on: "admin", kid: kid)
        }
        switch outcome {
        case .allowed:
            return try await next(request, context)
        case .refused(let error):
            throw error
        case .needsKeys:
            throw APIError.serviceUnavailable("the gateway has no token signing keys yet; is the token server up?", retryAfter: 1)
        }
    }
}

extension GatewaySettings {
    /// Whether the admin listener is reachable from beyond this machine, and so needs a token.
    public var adminRequiresToken: Bool {
        !AdminSettings.isLoopback(adminHost)
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
}
