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
    ) throws -> some ApplicationProtocol {
        let endpoint = try AdminEndpoint(
            settings: AdminSettings(host: settings.adminHost, port: settings.adminPort), verifier: { await verify($0, core: core) }
        )
        return AdminServer.application(
            process: "gateway", endpoint: endpoint, render: { core.metrics.render(routes: core.table.routes) }, logger: logger,
            ready: {
                let reasons = core.notReadyReasons()
                return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
            },
            // The page holds no data; it fetches /status/events with the token it is given.
            openPaths: ["/status"],
            extraRoutes: { router in addStatusRoutes(to: router, core: core, watcher: watcher, logger: logger) },
            onServerRunning: onServerRunning
        )
    }

    static func addStatusRoutes(to router: Router<PortierRequestContext>, core: GatewayCore, watcher: RouteTableWatcher, logger: Logger) {
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
    }

    /// An admin token, checked like any route's token (the routes' JWKS, issuer, audience and
    /// revocations). Without an `auth` section there is nothing to check it with: 503, so the
    /// listener never opens up by accident.
    static func verify(_ token: String, core: GatewayCore) async -> AdminTokenCheck {
        guard let guardian = core.authGuard else {
            return .unavailable("the admin listener needs an admin token, but routes.json has no auth section to verify it with")
        }
        let authorization = "Bearer " + token
        var memo = TokenCache.Memo()
        var outcome = guardian.check(authorization: authorization, method: .get, required: [], on: "admin", memo: &memo)
        if case .needsKeys(let kid) = outcome {
            outcome = await guardian.checkAfterLoadingKeys(authorization: authorization, method: .get, required: [], on: "admin", kid: kid)
        }
        switch outcome {
        case .allowed(let identity):
            return .valid(scopes: identity.scopes, clientID: identity.clientID)
        case .refused(let error) where error.status == .serviceUnavailable:
            return .unavailable(error.message)
        case .refused(let error):
            return .invalid(error.message)
        case .needsKeys:
            return .unavailable("the gateway has no token signing keys yet; is the token server up?")
        }
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

}

extension GatewaySettings {
    /// Whether the admin listener is reachable from beyond this machine, and so needs a token.
    public var adminRequiresToken: Bool {
        AdminSettings(host: adminHost, port: adminPort).requiresToken
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
}
