import HTTPTypes
import Resilience

/// A route ready to serve: its settings plus the runtime state (limiter, breaker, balancer) that
/// survives a reload when the settings it depends on did not change.
public final class Route: Sendable {
    public let settings: GatewayConfiguration.RouteSettings
    public let balancer: UpstreamBalancer
    public let limiter: KeyedRateLimiter?
    public let breaker: SharedCircuitBreaker?
    /// Allowed methods; nil allows all.
    public let allowedMethods: Set<HTTPRequest.Method>?
    /// The same, in routes.json order, for the `Allow` header.
    public let allowedMethodList: [HTTPRequest.Method]
    let requiredScopes: [HTTPRequest.Method: [String]]

    init(settings: GatewayConfiguration.RouteSettings, reusing previous: Route?) {
        self.settings = settings
        let upstreams = settings.upstreams.compactMap(Upstream.init)
        if let previous, previous.settings.upstreams == settings.upstreams {
            balancer = previous.balancer
        } else {
            balancer = UpstreamBalancer(upstreams: upstreams)
        }
        if let bucket = settings.rateLimit?.bucket {
            limiter = previous?.limiter?.configuration == bucket ? previous?.limiter : KeyedRateLimiter(configuration: bucket)
        } else {
            limiter = nil
        }
        if let breakerSettings = settings.circuitBreaker {
            let same = previous?.breaker?.configuration == breakerSettings && previous?.settings.upstreams == settings.upstreams
            breaker = same ? previous?.breaker : SharedCircuitBreaker(configuration: breakerSettings)
        } else {
            breaker = nil
        }
        allowedMethodList = (settings.methods ?? []).compactMap { HTTPRequest.Method(rawValue: $0) }
        allowedMethods = settings.methods == nil ? nil : Set(allowedMethodList)
        var scopes: [HTTPRequest.Method: [String]] = [:]
        for (method, list) in settings.scopes {
            if let method = HTTPRequest.Method(rawValue: method) { scopes[method] = list }
        }
        requiredScopes = scopes
    }

    public var id: String { settings.id }

    /// Scopes a method needs; HEAD falls back to GET's.
    public func scopes(for method: HTTPRequest.Method) -> [String] {
        if let scopes = requiredScopes[method] { return scopes }
        if method == .head { return requiredScopes[.get] ?? [] }
        return []
    }

    /// The path sent upstream: the route prefix replaced by `rewrite` when one is set.
    public func upstreamPath(for path: Substring) -> Substring {
        guard let rewrite = settings.rewrite else { return path }
        // Byte offsets, as in `match`: dropping utf8.count Characters would cut a non-ASCII prefix wrong.
        let rest = settings.path == "/" ? path : Substring(path.utf8.dropFirst(settings.path.utf8.count))
        // The first byte, not the first Character: "/" followed by a combining mark is one
        // Character that does not equal "/", and the path would get a second slash.
        if rewrite.isEmpty { return rest.utf8.first == UInt8(ascii: "/") ? rest : "/" + rest }
        return Substring(rewrite + rest)
    }
}

/// The whole table, immutable once built; a reload builds a new one and swaps it in.
public final class RouteTable: Sendable {
    public let configuration: GatewayConfiguration
    /// Longest path first, so the first match is the most specific.
    public let routes: [Route]
    /// Routes by the first segment of their path ("rooms" for /rooms and /rooms/special), longest
    /// first, so a request is compared with the few routes that can match instead of all of them.
    private let bySegment: [String: [Route]]
    /// The catch-all route "/", if any.
    private let root: Route?

    public init(configuration: GatewayConfiguration, previous: RouteTable? = nil) {
        self.configuration = configuration
        let old = Dictionary(uniqueKeysWithValues: (previous?.routes ?? []).map { ($0.id, $0) })
        routes = configuration.routes
            .map { Route(settings: $0, reusing: old[$0.id]) }
            .sorted { $0.settings.path.utf8.count > $1.settings.path.utf8.count }
        var index: [String: [Route]] = [:]
        var root: Route?
        for route in routes {
            if route.settings.path == "/" {
                root = route
            } else {
                index[String(Self.firstSegment(route.settings.path[...])), default: []].append(route)
            }
        }
        bySegment = index
        self.root = root
    }

    /// Longest-prefix match on whole path segments: `/rooms` matches `/rooms` and `/rooms/7`, not `/roomsX`.
    public func match(_ path: Substring) -> Route? {
        if let candidates = bySegment[String(Self.firstSegment(path))] {
            for route in candidates {
                // Bytes, not Characters: "/cafe\u{301}" must not match a route "/caf\u{E9}" by canonical equivalence.
                let prefix = route.settings.path
                guard path.utf8.starts(with: prefix.utf8) else { continue }
                let rest = path.utf8.dropFirst(prefix.utf8.count)
                if rest.isEmpty || rest.first == UInt8(ascii: "/") { return route }
            }
        }
        return root
    }

    /// The bytes after the leading slash up to the next one: "rooms" in "/rooms/7".
    static func firstSegment(_ path: Substring) -> Substring {
        let utf8 = path.utf8
        let start = utf8.first == UInt8(ascii: "/") ? utf8.index(after: utf8.startIndex) : utf8.startIndex
        let end = utf8[start...].firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
        return Substring(utf8[start..<end])
    }
}
