public import Hummingbird
public import Logging
import HTTPTypes
import NIOCore
public import ServiceLifecycle

/// Where a process's admin listener (/metrics and the health probes) binds, and whether it asks
/// for a token. Loopback by default: metrics name routes, clients and consumer groups, which is
/// nothing for the public port (Kong's admin API and Envoy's admin interface are separate too).
public struct AdminSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// nil: decided by ``host`` (see ``requiresToken``); true or false to say so explicitly.
    public var requireToken: Bool?

    public init(host: String = "127.0.0.1", port: Int, requireToken: Bool? = nil) {
        self.host = host
        self.port = port
        self.requireToken = requireToken
    }

    /// The admin port of a process whose public port is `publicPort`: 1000 above it (8081 -> 9081).
    public static func defaultPort(forPublicPort publicPort: Int) -> Int { publicPort + 1000 }

    /// Whether requests need `Authorization: Bearer <token>` with scope `admin`: when told so, or
    /// else whenever the listener is reachable from beyond this machine.
    public var requiresToken: Bool { requireToken ?? !Self.isLoopback(host) }

    /// True only for addresses that cannot be reached from another machine: `localhost`, `::1` and
    /// IPv4 literals 127.x.y.z. Everything else (0.0.0.0, `::`, a name, an interface address) is not.
    public static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in part.count <= 3 && !part.isEmpty && part.allSatisfy(\.isASCIIDigit) && (Int(part) ?? 256) <= 255 }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// What a bearer token presented to an admin listener turned out to be.
public enum AdminTokenCheck: Sendable, Equatable {
    /// Signed by the token server, unexpired, for this audience; with these scopes.
    case valid(scopes: [String], clientID: String)
    /// Not a token this process accepts; the reason is told to the caller.
    case invalid(String)
    /// Cannot be decided now (the token server's keys are not loaded yet).
    case unavailable(String)
}

/// Verifies a bearer token for the admin listener: the token server with its own key ring, the
/// services with the token server's JWKS (``PortierClients``' `AdminTokenVerifiers`).
public typealias AdminTokenVerifier = @Sendable (_ token: String) async -> AdminTokenCheck

/// A listener configuration that cannot work, said in one line.
public struct AdminSettingsError: Error, CustomStringConvertible {
    public let description: String
}

/// An admin listener ready to be built: where it binds, how it checks tokens, and what must run
/// with it (a JWKS fetcher's shutdown). Made only from settings that can work.
public struct AdminEndpoint: Sendable {
    public let settings: AdminSettings
    let verifier: AdminTokenVerifier?
    let companions: [any Service]

    /// Throws when the port is out of range, or tokens are required and `verifier` is nil.
    public init(settings: AdminSettings, verifier: AdminTokenVerifier?, companions: [any Service] = []) throws {
        guard (0...65535).contains(settings.port) else {
            throw AdminSettingsError(description: "the admin port must be between 0 and 65535, got \(settings.port)")
        }
        if settings.requiresToken, verifier == nil {
            throw AdminSettingsError(description: "the admin listener on \(settings.host) requires tokens, but there is no way to verify them")
        }
        self.settings = settings
        self.verifier = settings.requiresToken ? verifier : nil
        self.companions = settings.requiresToken ? companions : []
    }
}

/// The admin listener every Hummingbird process runs next to its public port: /metrics and
/// /health/live, /health/ready. Beyond loopback (or when told to) /metrics needs a token with
/// scope `admin`; the health probes never do (Kubernetes cannot send one, and the public port
/// answers them too).
public enum AdminServer {
    /// The scope an admin token must carry.
    public static let scope = "admin"

    public static func application(
        process: String, endpoint: AdminEndpoint, metrics: ProcessMetrics, logger: Logger, ready: @escaping @Sendable () async -> String?,
        extraRoutes: (Router<PortierRequestContext>) -> Void = { _ in },
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        application(
            process: process, endpoint: endpoint, render: { await metrics.render() }, logger: logger, ready: ready, extraRoutes: extraRoutes,
            onServerRunning: onServerRunning
        )
    }

    /// The same, with /metrics rendered by `render` (the gateway keeps its own registry).
    /// Paths any caller may GET without a token: the probes (Kubernetes cannot send one, and the
    /// public port answers them too).
    public static let probes: Set<String> = ["/health/live", "/health/ready"]

    /// The same, with /metrics rendered by `render` (the gateway keeps its own registry), and
    /// `openPaths` (GET and HEAD only) that need no token beyond the probes: a page that holds no
    /// data itself, which a browser must load before it can send a token.
    public static func application(
        process: String, endpoint: AdminEndpoint, render: @escaping @Sendable () async -> [UInt8], logger: Logger,
        ready: @escaping @Sendable () async -> String?, openPaths: Set<String> = [],
        extraRoutes: (Router<PortierRequestContext>) -> Void = { _ in }, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let settings = endpoint.settings
        let router = MethodSemantics.router()
        // Request ids, JSON errors (an unknown path is a JSON 404) and an access-log line, as on the public ports.
        router.add(middleware: AccessLogMiddleware(logger: logger))
        if let verifier = endpoint.verifier {
            router.add(middleware: AdminTokenMiddleware(verifier: verifier, open: probes.union(openPaths), logger: logger))
        } else {
            router.add(middleware: LoopbackOnlyMiddleware(logger: logger))
        }
        router.get("/metrics") { _, _ in
            let body = await render()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        HealthRoutes.add(to: router, ready: ready)
        extraRoutes(router)
        // Known paths asked with another method answer 405 with Allow, as on the public ports.
        MethodSemantics.complete(router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "portier-\(process)-admin"),
            services: endpoint.companions,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.port
                logger.info(
                    "\(process) admin listener ready",
                    metadata: [
                        "host": .string(settings.host), "port": .stringConvertible(port),
                        "requires_token": .stringConvertible(settings.requiresToken),
                    ]
                )
                await onServerRunning(port)
            },
            logger: logger
        )
    }
}

/// Refuses admin requests without a valid token carrying scope `admin` (RFC 6750: 401 with
/// `WWW-Authenticate: Bearer`, error="invalid_token" when one was sent; 403 error="insufficient_scope").
/// The health probes pass without one.
struct AdminTokenMiddleware: RouterMiddleware {
    typealias Context = PortierRequestContext
    let verifier: AdminTokenVerifier
    /// Exact paths that GET and HEAD may reach without a token.
    let open: Set<String>
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .get || request.method == .head, open.contains(request.uri.path) { return try await next(request, context) }
        do {
            try await authorize(request)
        } catch {
            logger.warning(
                "refused an admin request", metadata: ["path": .string(request.uri.path), "status": .stringConvertible(error.status.code)]
            )
            return error.response(requestID: nil)
        }
        return try await next(request, context)
    }

    private func authorize(_ request: Request) async throws(APIError) {
        guard let header = request.headers[.authorization] else {
            throw Self.challenge(nil, "a Bearer access token with scope \(AdminServer.scope) is required")
        }
        guard header.utf8.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw Self.challenge(nil, "a Bearer access token is required (Authorization: Bearer <token>)")
        }
        let token = String(header.dropFirst(7).drop { $0 == " " })
        guard !token.isEmpty, token.utf8.count <= 8192, !token.utf8.contains(UInt8(ascii: " ")) else {
            throw Self.challenge("invalid_token", "the bearer token is malformed")
        }
        switch await verifier(token) {
        case .invalid(let reason):
            throw Self.challenge("invalid_token", reason)
        case .unavailable(let reason):
            throw APIError.serviceUnavailable(reason, retryAfter: 1)
        case .valid(let scopes, let clientID):
            guard scopes.contains(AdminServer.scope) else {
                let description = "the token of client '\(Self.quoted(clientID))' lacks scope \(AdminServer.scope)"
                throw APIError(
                    .forbidden, "insufficient_scope", description,
                    headers: [
                        .wwwAuthenticate:
                            "Bearer realm=\"portier-admin\", error=\"insufficient_scope\", error_description=\"\(Self.quoted(description))\", scope=\"\(AdminServer.scope)\""
                    ]
                )
            }
        }
    }

    /// 401 with `WWW-Authenticate: Bearer realm="portier-admin"`, plus the error when a token was sent.
    static func challenge(_ error: String?, _ description: String) -> APIError {
        var value = "Bearer realm=\"portier-admin\""
        if let error { value += ", error=\"\(error)\", error_description=\"\(quoted(description))\"" }
        value += ", scope=\"\(AdminServer.scope)\""
        return APIError(.unauthorized, error ?? "unauthorized", description, headers: [.wwwAuthenticate: value])
    }

    /// Header parameter values may hold neither quotes, backslashes nor control characters (RFC 6750 3).
    static func quoted(_ text: String) -> String {
        String(
            text.map { character -> Character in
                if character == "\"" || character == "\\" { return "'" }
                return character.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } ? " " : character
            }
        )
    }
}

/// A listener that asks for no token trusts that only this machine reaches it. A web page in the
/// operator's browser can still reach loopback: by DNS rebinding (a name of the attacker's that
/// resolves to 127.0.0.1, which shows in `Host`) or by a cross-site form post. So requests must name
/// a loopback host, and a request that changes something must not come from another site.
struct LoopbackOnlyMiddleware: RouterMiddleware {
    typealias Context = PortierRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // HTTP/1.1's Host, as HTTPTypes reads it into the authority.
        if let host = request.head.authority, !Self.isLoopbackAuthority(host) {
            logger.warning("refused an admin request for another host", metadata: ["host": .string(String(host.prefix(100)))])
            throw APIError(.forbidden, "forbidden", "the admin listener answers requests for a loopback host only (Host: 127.0.0.1, localhost or [::1])")
        }
        if request.method != .get, request.method != .head {
            let crossSite = request.headers[.secFetchSite] == "cross-site"
            let foreignOrigin = request.headers[.origin].map { origin in
                origin != "null" ? !Self.isLoopbackAuthority(Self.authority(ofOrigin: origin)) : true
            } ?? false
            if crossSite || foreignOrigin {
                logger.warning("refused a cross-site admin request", metadata: ["path": .string(request.uri.path)])
                throw APIError(.forbidden, "forbidden", "the admin listener refuses requests that change something from another site")
            }
        }
        return try await next(request, context)
    }

    /// `host[:port]` names a loopback address (127.x.y.z, localhost, [::1]).
    static func isLoopbackAuthority(_ authority: String) -> Bool {
        var host = Substring(authority)
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return false }
            host = host[host.index(after: host.startIndex)..<end]
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        return AdminSettings.isLoopback(String(host))
    }

    /// `scheme://authority` of an `Origin` value.
    static func authority(ofOrigin origin: String) -> String {
        guard let range = origin.range(of: "://") else { return origin }
        return String(origin[range.upperBound...].prefix { $0 != "/" })
    }
}

extension HTTPField.Name {
    static let origin = HTTPField.Name("Origin")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
}
