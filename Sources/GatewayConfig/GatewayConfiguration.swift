import Foundation
import Resilience

/// The validated content of routes.json. Building one either succeeds whole or throws the first
/// problem; the gateway never runs on a half-read file.
public struct GatewayConfiguration: Sendable, Equatable {
    /// How the gateway checks tokens; nil when every route is public.
    public var auth: AuthSettings?
    public var routes: [RouteSettings]
    /// Default request body limit for routes that set none.
    public var maxBodyBytes: Int
    /// Proxies whose X-Forwarded-For the gateway extends instead of replacing. Empty by default:
    /// the gateway is the edge, so what clients claim about themselves is discarded.
    public var trustedProxies: [String]

    public struct AuthSettings: Sendable, Equatable {
        public var issuer: String
        public var audience: String
        public var jwksURL: String
        public var leewaySeconds: Int
        public var revocations: RevocationSettings?
        /// How often the JWKS is refetched (`jwksRefreshSeconds`, default 300): a key pruned at the
        /// token server stops verifying tokens here, cached ones included, within this time.
        public var jwksRefreshInterval: Duration

        public init(
            issuer: String, audience: String, jwksURL: String, leewaySeconds: Int, revocations: RevocationSettings? = nil,
            jwksRefreshInterval: Duration = .seconds(300)
        ) {
            self.issuer = issuer
            self.audience = audience
            self.jwksURL = jwksURL
            self.leewaySeconds = leewaySeconds
            self.revocations = revocations
            self.jwksRefreshInterval = jwksRefreshInterval
        }
    }

    public struct RevocationSettings: Sendable, Equatable {
        public var url: String
        public var clientID: String
        /// Read at every poll, so a rotated secret is picked up without a reload.
        public var clientSecretFile: String?
        public var clientSecret: String?
        public var interval: Duration
        /// `failClosed: true` refuses protected requests (503) while the feed is stale; the default
        /// (fail-open) serves with the last known revocations.
        public var failClosed: Bool
        /// The auth section's `leewaySeconds`: entries are kept until their tokens' exp plus this.
        public var leewaySeconds: Int
    }

    public struct RouteSettings: Sendable, Equatable {
        public var id: String
        public var path: String
        /// Allowed methods; nil allows all.
        public var methods: [String]?
        public var upstreams: [String]
        /// The path prefix forwarded instead of `path` ("" strips it).
        public var rewrite: String?
        public var isPublic: Bool
        /// Pass the verified bearer token on to the upstream (off by default: upstreams get X-Client-*).
        public var forwardToken: Bool
        /// Required scopes per method; methods not listed need a valid token but no scope.
        public var scopes: [String: [String]]
        public var rateLimit: RateLimitSettings?
        public var circuitBreaker: CircuitBreaker.Configuration?
        public var timeout: Duration
        public var maxBodyBytes: Int?
    }

    public struct RateLimitSettings: Sendable, Equatable, Hashable {
        public enum Key: String, Sendable { case client, ip }
        public var bucket: TokenBucket.Configuration
        public var key: Key
        /// How often replicas exchange this route's usage through PostgreSQL (`syncMillis`, like
        /// Kong's `sync_rate`); used only when the gateway has a database.
        public var syncInterval: Duration = Self.defaultSyncInterval

        public static let defaultSyncInterval = Duration.milliseconds(100)
    }

    public static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    public static let defaultMaxBodyBytes = 10 * 1024 * 1024
    public static let defaultTimeout = Duration.seconds(15)

    /// Parses and validates routes.json.
    public static func parse(_ data: Data) throws -> GatewayConfiguration {
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigurationError("routes.json is not valid JSON: \(Self.jsonErrorDescription(error))")
        }
        let root = try JSONObjectReader(document, place: "routes.json")
        try root.allowOnly(["auth", "routes", "maxBodyBytes", "trustedProxies"])

        let maxBody = try root.int("maxBodyBytes", min: 1, max: 1 << 40) ?? defaultMaxBodyBytes
        let trusted = try root.strings("trustedProxies") ?? []
        guard case .array(let rawRoutes) = root.object["routes"] else {
            throw ConfigurationError("routes.json: routes must be a list of route objects")
        }

        var routes: [RouteSettings] = []
        var ids = Set<String>()
        var paths: [String: String] = [:]
        for (index, raw) in rawRoutes.enumerated() {
            let route = try parseRoute(raw, index: index)
            guard ids.insert(route.id).inserted else { throw ConfigurationError("route '\(route.id)': id is used by another route") }
            if let other = paths[route.path] {
                throw ConfigurationError("route '\(route.id)': path \(route.path) is already routed by '\(other)'")
            }
            paths[route.path] = route.id
            routes.append(route)
        }

        var auth: AuthSettings?
        if let section = try root.child("auth") {
            auth = try parseAuth(section)
        }
        if auth == nil, let protected = routes.first(where: { !$0.isPublic }) {
            throw ConfigurationError("route '\(protected.id)': needs tokens, so routes.json must have an auth section (or mark the route \"public\": true)")
        }
        return GatewayConfiguration(auth: auth, routes: routes, maxBodyBytes: maxBody, trustedProxies: trusted)
    }

    static func parseAuth(_ reader: JSONObjectReader) throws -> AuthSettings {
        let auth = try JSONObjectReader(.object(reader.object), place: "auth")
        try auth.allowOnly(["issuer", "audience", "jwks", "leewaySeconds", "revocations", "jwksRefreshSeconds"])
        let jwks = try auth.requiredString("jwks")
        guard Upstream(jwks) != nil else { throw auth.fail("jwks", "must be an http:// or https:// URL") }
        let leeway = try auth.int("leewaySeconds", min: 0, max: 600) ?? 60
        var revocations: RevocationSettings?
        if let section = try auth.child("revocations") {
            try section.allowOnly(["url", "clientId", "clientSecretFile", "clientSecret", "intervalMillis", "failClosed"])
            let url = try section.requiredString("url")
            guard Upstream(url) != nil else { throw section.fail("url", "must be an http:// or https:// URL") }
            let file = try section.string("clientSecretFile")
            let secret = try section.string("clientSecret")
            guard file != nil || secret != nil else { throw section.fail("clientSecretFile", "(or clientSecret) is required") }
            revocations = RevocationSettings(
                url: url, clientID: try section.requiredString("clientId"), clientSecretFile: file, clientSecret: secret,
                interval: .milliseconds(try section.int("intervalMillis", min: 200, max: 60_000) ?? 2000),
                failClosed: try section.bool("failClosed") ?? false, leewaySeconds: leeway
            )
        }
        return AuthSettings(
            issuer: try auth.requiredString("issuer"), audience: try auth.requiredString("audience"), jwksURL: jwks,
            leewaySeconds: leeway, revocations: revocations,
            jwksRefreshInterval: .seconds(try auth.int("jwksRefreshSeconds", min: 1, max: 86_400) ?? 300)
        )
    }

    static func parseRoute(_ raw: JSONValue, index: Int) throws -> RouteSettings {
        var peek: String?
        if case .object(let fields) = raw, case .string(let id) = fields["id"] { peek = id }
        let place = peek.map { "route '\($0)'" } ?? "route #\(index + 1)"
        let route = try JSONObjectReader(raw, place: place)
        try route.allowOnly([
            "id", "path", "methods", "upstreams", "stripPrefix", "rewrite", "public", "forwardToken", "scopes", "rateLimit",
            "circuitBreaker", "timeoutMillis", "maxBodyBytes",
        ])
        let id = try route.requiredString("id")
        guard id.utf8.count <= 64, id.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
            throw route.fail("id", "must be 1-64 letters, digits, '.', '_' or '-'")
        }
        let path = try route.requiredString("path")
        guard path.hasPrefix("/"), !path.contains("?"), !path.contains("#"), !path.contains("//") else {
            throw route.fail("path", "must start with / and contain no ?, # or //")
        }
        guard path == "/" || !path.hasSuffix("/") else { throw route.fail("path", "must not end with /") }

        var methods: [String]?
        if let list = try route.strings("methods") {
            let upper = list.map { $0.uppercased() }
            if let unknown = upper.first(where: { !knownMethods.contains($0) }) {
                throw route.fail("methods", "contains unknown method '\(unknown)'")
            }
            guard !upper.isEmpty else { throw route.fail("methods", "must not be empty (leave it out to allow all)") }
            methods = upper
        }

        guard let upstreams = try route.strings("upstreams"), !upstreams.isEmpty else {
            throw route.fail("upstreams", "must list at least one base URL")
        }
        for upstream in upstreams where Upstream(upstream) == nil {
            throw route.fail("upstreams", "entry '\(upstream)' is not an http:// or https:// URL without query")
        }

        let strip = try route.bool("stripPrefix") ?? false
        var rewrite = try route.string("rewrite")
        if let value = rewrite {
            guard value.hasPrefix("/"), !value.contains("?") else { throw route.fail("rewrite", "must start with / and contain no ?") }
            guard !strip else { throw route.fail("rewrite", "cannot be combined with stripPrefix") }
            if value == "/" { rewrite = "" }
        }
        if strip { rewrite = "" }

        let isPublic = try route.bool("public") ?? false
        let forwardToken = try route.bool("forwardToken") ?? false
        if forwardToken && isPublic { throw route.fail("forwardToken", "makes no sense on a public route (its Authorization passes unchanged)") }
        var scopes: [String: [String]] = [:]
        if let section = try route.child("scopes") {
            guard !isPublic else { throw route.fail("scopes", "make no sense on a public route") }
            for method in section.object.keys.sorted() {
                let upper = method.uppercased()
                guard knownMethods.contains(upper) else { throw section.fail(method, "is not an HTTP method") }
                if let methods, !methods.contains(upper) { throw section.fail(method, "is not in the route's methods") }
                guard let list = try section.strings(method) else { throw section.fail(method, "must be a list of scope names") }
                scopes[upper] = list
            }
        }

        var rateLimit: RateLimitSettings?
        if let section = try route.child("rateLimit") {
            try section.allowOnly(["perSecond", "burst", "key", "syncMillis"])
            guard let perSecond = try section.number("perSecond", min: 0.001, max: 1_000_000) else {
                throw section.fail("perSecond", "is required")
            }
            let burst = try section.int("burst", min: 1, max: 10_000_000) ?? max(1, Int(perSecond.rounded(.up)))
            let keyName = try section.string("key") ?? "client"
            guard let key = RateLimitSettings.Key(rawValue: keyName) else { throw section.fail("key", "must be \"client\" or \"ip\"") }
            let sync = try section.int("syncMillis", min: 10, max: 60_000).map { Duration.milliseconds($0) } ?? RateLimitSettings.defaultSyncInterval
            rateLimit = RateLimitSettings(bucket: .init(perSecond: perSecond, burst: burst), key: key, syncInterval: sync)
        }

        var breaker: CircuitBreaker.Configuration? = CircuitBreaker.Configuration()
        if case .bool(let value) = route.object["circuitBreaker"] {
            breaker = value ? CircuitBreaker.Configuration() : nil
        } else if let section = try route.child("circuitBreaker") {
            try section.allowOnly([
                "failureRatePercent", "slowCallRatePercent", "minimumCalls", "windowSeconds", "openSeconds", "halfOpenCalls", "slowCallMillis",
            ])
            let defaults = CircuitBreaker.Configuration()
            breaker = CircuitBreaker.Configuration(
                failureRatePercent: try section.number("failureRatePercent", min: 1, max: 100) ?? defaults.failureRatePercent,
                slowCallRatePercent: try section.number("slowCallRatePercent", min: 1, max: 100) ?? defaults.slowCallRatePercent,
                slowCallDuration: .milliseconds(try section.int("slowCallMillis", min: 1, max: 600_000) ?? 2000),
                minimumCalls: try section.int("minimumCalls", min: 1, max: 1_000_000) ?? defaults.minimumCalls,
                window: .seconds(try section.int("windowSeconds", min: 1, max: 3600) ?? 10),
                openDuration: .seconds(try section.int("openSeconds", min: 1, max: 3600) ?? 5),
                halfOpenCalls: try section.int("halfOpenCalls", min: 1, max: 1000) ?? defaults.halfOpenCalls
            )
        }

        return RouteSettings(
            id: id, path: path, methods: methods, upstreams: upstreams, rewrite: rewrite, isPublic: isPublic, forwardToken: forwardToken, scopes: scopes,
            rateLimit: rateLimit, circuitBreaker: breaker,
            timeout: .milliseconds(try route.int("timeoutMillis", min: 1, max: 600_000) ?? 15_000),
            maxBodyBytes: try route.int("maxBodyBytes", min: 1, max: 1 << 40)
        )
    }

    static func jsonErrorDescription(_ error: any Error) -> String {
        guard case DecodingError.dataCorrupted(let context) = error else { return "\(error)" }
        let underlying = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
        return underlying ?? context.debugDescription
    }
}
