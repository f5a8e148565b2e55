import AsyncHTTPClient
import Foundation
import GatewayConfig
import GatewayHeaders
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import PortierClients
import PortierHTTP
import PortierTelemetry
import PortierTracing
import Resilience
import Synchronization
import Tokens
import Tracing

/// The gateway's shared state and policy: the current route table and auth guard (swapped whole
/// on reload), metrics and the access log. Everything here is synchronous and thread-safe; the
/// per-connection I/O lives in ``ProxyChannelHandler``, the upstream connections in one
/// ``UpstreamPool`` per event loop.
final class GatewayCore: Sendable {
    /// For the gateway's own calls (JWKS, revocation list); proxied requests use the pools.
    let client: HTTPClient
    /// The exporting tracer when OTLP export is on; nil otherwise, and then the data path uses
    /// no tracing API at all (ids come from each connection's generator).
    let tracer: (any Tracer)?
    let logger: Logger
    let metrics = GatewayMetrics()
    /// Each route's last minute, for the status page.
    let recorder = StatusRecorder()
    /// The route table's last reload, for the status page.
    let lastReload = Mutex<ReloadRecord?>(nil)
    /// When this gateway started (wall clock), for the status page.
    let startedAt = Date()
    let revocations: RevocationList
    private let state: Mutex<Snapshot>
    /// The version of the snapshot in `state`: connections read this, not the lock, per request.
    private let version = Atomic<UInt64>(0)

    /// Everything a reload swaps, taken together.
    struct Snapshot: Sendable {
        let table: RouteTable
        let auth: AuthGuard?
        let trusted: TrustedProxies
        let version: UInt64
    }

    /// A connection's copy of the current ``Snapshot``: one atomic load per request tells whether
    /// it is still current, so requests take no process-wide lock. A reload reaches each
    /// connection at its next request.
    struct SnapshotCache {
        fileprivate var snapshot: Snapshot?

        init() {}
    }

    init(configuration: GatewayConfiguration, client: HTTPClient, logger: Logger, tracer: (any Tracer)? = nil) throws {
        self.client = client
        self.tracer = tracer
        self.logger = logger
        self.revocations = RevocationList(logger: logger)
        let trusted = try TrustedProxies(configuration.trustedProxies)
        state = Mutex(Snapshot(table: RouteTable(configuration: configuration), auth: nil, trusted: trusted, version: 0))
        state.withLock { $0 = Snapshot(table: $0.table, auth: makeGuard(configuration.auth, previous: nil), trusted: trusted, version: 0) }
        metrics.trackRevocationFeed(revocations)
    }

    var table: RouteTable { state.withLock { $0.table } }
    /// The table, guard and version in force now, read together.
    var currentSnapshot: Snapshot { state.withLock { $0 } }
    var authGuard: AuthGuard? { state.withLock { $0.auth } }

    /// The current snapshot, from `cache` while no reload happened since it was taken.
    func current(_ cache: inout SnapshotCache) -> Snapshot {
        if let snapshot = cache.snapshot, snapshot.version == version.load(ordering: .acquiring) { return snapshot }
        let snapshot = state.withLock { $0 }
        cache.snapshot = snapshot
        return snapshot
    }

    /// Swaps in a new configuration. Routes whose limiter or breaker settings are unchanged keep
    /// their state; requests in flight finish with the route they were admitted on.
    func apply(_ configuration: GatewayConfiguration) throws {
        let trusted = try TrustedProxies(configuration.trustedProxies)
        state.withLock { state in
            let next = Snapshot(
                table: RouteTable(configuration: configuration, previous: state.table), auth: makeGuard(configuration.auth, previous: state.auth),
                trusted: trusted, version: state.version &+ 1
            )
            state = next
            version.store(next.version, ordering: .releasing)
        }
        recorder.retain(routes: Set(configuration.routes.map(\.id)))
    }

    private func makeGuard(_ settings: GatewayConfiguration.AuthSettings?, previous: AuthGuard?) -> AuthGuard? {
        guard let settings else { return nil }
        if let previous, previous.settings == settings { return previous }
        // The same JWKS URL keeps its fetcher, so a reload does not drop the loaded keys.
        let jwks =
            previous.flatMap { $0.jwks.url == settings.jwksURL ? $0.jwks : nil }
            ?? JWKSFetcher(url: settings.jwksURL, client: client, logger: logger, onFetch: { [metrics] ok in metrics.jwksRefresh(ok: ok) })
        return AuthGuard(settings: settings, jwks: jwks, revocations: revocations)
    }

    // MARK: - Admission

    /// What to do with a request, decided from its head alone.
    enum Admission {
        /// Answer locally (built-in endpoints and refusals).
        case respond(LocalResponse)
        /// The token's key must be fetched first; then call ``admit(after:)``.
        case needsKeys(Pending)
        case forward(Forwarding)
    }

    /// A response the gateway makes itself.
    struct LocalResponse {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: ByteBuffer
        /// Close the connection afterwards (the request body will not be read).
        var close = false

        init(_ error: APIError, requestID: String, close: Bool = false) {
            (status, headers, body) = error.rendered(requestID: requestID)
            self.close = close
        }

        init(status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    /// A request waiting for signing keys, with what admission had already learned.
    struct Pending {
        var request: RequestInfo
        var route: Route
        var guardian: AuthGuard
        var kid: String?
        /// From the same snapshot as `route`, so a reload during the wait changes nothing.
        var bodyLimit: Int
        var trusted: TrustedProxies
    }

    /// Everything needed to send a request upstream and to account for it afterwards.
    ///
    /// A class, so that the connection handler's many reads of it take one reference rather than
    /// copying every field. Unchecked Sendable: admission makes it (in a task when keys had to be
    /// fetched) and hands it over to one connection's event loop, the only place that changes it.
    final class Forwarding: @unchecked Sendable {
        let route: Route
        private(set) var upstreamIndex: Int
        private(set) var upstream: Upstream
        /// The path after the upstream's base path, and the query.
        let path: Substring
        let query: Substring?
        /// The `X-Forwarded-For` value to send.
        let forwardedFor: String
        /// The verified caller (nil on a public route): the upstream learns it from `X-Client-*`.
        let identity: Identity?
        /// The client's bearer token is not passed on.
        let dropAuthorization: Bool
        /// `RateLimit-*` headers to add to the response.
        let limitHeaders: RateLimitHeaders?
        let bodyLimit: Int
        /// The breaker's generation when the permit was taken; the outcome is settled against it.
        let breakerGeneration: UInt64

        init(
            route: Route, upstreamIndex: Int, upstream: Upstream, path: Substring, query: Substring?, forwardedFor: String,
            identity: Identity?, dropAuthorization: Bool, limitHeaders: RateLimitHeaders?, bodyLimit: Int, breakerGeneration: UInt64
        ) {
            self.route = route
            self.upstreamIndex = upstreamIndex
            self.upstream = upstream
            self.path = path
            self.query = query
            self.forwardedFor = forwardedFor
            self.identity = identity
            self.dropAuthorization = dropAuthorization
            self.limitHeaders = limitHeaders
            self.bodyLimit = bodyLimit
            self.breakerGeneration = breakerGeneration
        }

        /// Points the request at another instance of the route (after a refused connection).
        func retarget(index: Int, upstream: Upstream) {
            upstreamIndex = index
            self.upstream = upstream
        }

        /// Writes the request head as it goes upstream, straight into bytes: the client's head
        /// with the minimal edits (see ``HeaderRules/forEachUpstreamHeader(in:dropAuthorization:_:)``),
        /// the body framed as the client sent it, then the headers the gateway sets. Returns
        /// whether the body goes in chunks.
        func writeHead(of request: RequestInfo, into buffer: inout ByteBuffer) -> Bool {
            let headers = request.head.headers
            buffer.writeString(request.head.method.rawValue)
            buffer.writeStaticString(" ")
            buffer.writeString(upstream.basePath)
            buffer.writeSubstring(path)
            if let query {
                buffer.writeStaticString("?")
                buffer.writeSubstring(query)
            }
            buffer.writeStaticString(" HTTP/1.1\r\n")
            HeaderRules.forEachUpstreamHeader(in: headers, dropAuthorization: dropAuthorization) { name, value in
                HTTPWire.writeField(&buffer, name, value)
            }
            var chunked = false
            if let length = headers.first(name: "content-length") {
                HTTPWire.writeField(&buffer, "Content-Length", length)
            } else if headers.contains(name: "transfer-encoding") {
                buffer.writeStaticString("Transfer-Encoding: chunked\r\n")
                chunked = true
            }
            HTTPWire.writeField(&buffer, "Host", upstream.hostHeader)
            HTTPWire.writeField(&buffer, "X-Forwarded-For", forwardedFor)
            buffer.writeStaticString("X-Forwarded-Proto: http\r\n")
            if let host = headers.first(name: "host") { HTTPWire.writeField(&buffer, "X-Forwarded-Host", host) }
            HTTPWire.writeField(&buffer, "X-Request-Id", request.requestID)
            buffer.writeStaticString("traceparent: ")
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: TraceParent.length) { request.trace.write(into: $0) }
            buffer.writeStaticString("\r\n")
            if let state = request.traceState { HTTPWire.writeField(&buffer, "tracestate", state) }
            for (name, value) in identity?.upstreamHeaders ?? [] { HTTPWire.writeField(&buffer, name, value) }
            buffer.writeStaticString("\r\n")
            return chunked
        }
    }

    /// The parts of a request head that admission needs.
    struct RequestInfo {
        var head: HTTPRequestHead
        var method: HTTPRequest.Method
        var path: Substring
        var query: Substring?
        var requestID: String
        var peer: String
        /// Why the path cannot be routed (see ``RequestPath``); `path` is then the raw path.
        var pathRefusal: String?
        /// The trace as the gateway sends it on (W3C Trace Context): the client's trace when its
        /// `traceparent` is valid, else a new one; the parent is the gateway's own span.
        var trace: TraceParent
        /// The client's `tracestate`, passed on only with the client's trace.
        var traceState: String?

        /// The request target is split at `?`; the path is routed and forwarded normalized, the
        /// query passes untouched.
        init(head: HTTPRequestHead, peer: String, ids: inout RequestID.Generator, traces: inout TraceIDGenerator) {
            self.head = head
            let span = traces.spanID()
            if let incoming = head.headers.first(name: "traceparent"), let parent = TraceParent(incoming) {
                trace = parent.child(spanID: span)
                traceState = head.headers.first(name: "tracestate").flatMap { TraceState.isAcceptable($0) ? $0 : nil }
            } else {
                trace = traces.newTrace(spanID: span)
            }
            self.method = head.method.portable
            self.peer = peer
            let target = head.uri[...]
            let query = target.utf8.firstIndex(of: UInt8(ascii: "?"))
            let rawPath = query.map { target[..<$0] } ?? target
            self.query = query.map { target[target.index(after: $0)...] }
            requestID = RequestID.resolve(head.headers.first(name: "x-request-id"), generator: &ids)
            switch RequestPath.normalize(rawPath.isEmpty ? "/" : rawPath) {
            case .valid(let normalized): path = normalized
            case .refused(let reason): (path, pathRefusal) = (rawPath, reason)
            }
        }

        /// Starts the gateway's SERVER span with an exporting tracer, under the client's trace
        /// when its `traceparent` is valid, and takes the span's ids as the ones sent upstream.
        mutating func startSpan(_ tracer: any Tracer) -> any Span {
            var context = ServiceContext.topLevel
            if let incoming = head.headers.first(name: "traceparent"), let parent = TraceParent(incoming) {
                // Handed on as version 00: what the tracer's own parser accepts.
                tracer.extract(TraceHeaders(traceParent: parent.header, traceState: traceState), into: &context, using: TraceHeaders.Codec())
            }
            let span = tracer.startSpan("\(method.rawValue) \(path)", context: context, ofKind: .server)
            var sent = TraceHeaders()
            tracer.inject(span.context, into: &sent, using: TraceHeaders.Codec())
            // A sampler that drops everything hands back a span without ids: keep the gateway's own.
            if let own = sent.traceParent.flatMap(TraceParent.init) {
                trace = own
                traceState = sent.traceState.flatMap { TraceState.isAcceptable($0) ? $0 : nil }
            }
            return span
        }
    }

    /// Names and ends a request's span once its answer's status is known.
    static func end(_ span: any Span, request: RequestInfo, status: Int, trace: AccessTrace) {
        span.operationName = "\(request.method.rawValue) \(trace.route)"
        if span.isRecording {
            var attributes: SpanAttributes = [
                "http.request.method": .string(request.method.rawValue), "url.path": .string(String(request.path)),
                "http.response.status_code": .int64(Int64(status)), "portier.route": .string(trace.route),
                "client.address": .string(request.peer), "portier.request_id": .string(request.requestID),
            ]
            if let upstream = trace.upstream { attributes["portier.upstream"] = upstream }
            span.attributes = attributes
            if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
        }
        span.end()
    }

    /// Methods a proxy must not pass on: TRACE reflects the request (credentials included, RFC 9110
    /// 9.3.8) and CONNECT would open a tunnel; nginx answers both with 405.
    static let refusedMethods: Set<HTTPRequest.Method> = [.trace, .connect]
    static let proxiedMethods: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options]

    /// Runs routing, method and size checks, authentication, the rate limiter and the circuit
    /// breaker. A `.forward` result holds a breaker permit: its outcome must be recorded.
    /// `memo` is the connection's memo of the last token it sent (see ``TokenCache/Memo``), and
    /// `snapshot` its copy of the route table and auth settings.
    func admit(_ request: RequestInfo, trace: inout AccessTrace, memo: inout TokenCache.Memo, snapshot: inout SnapshotCache) -> Admission {
        if Self.refusedMethods.contains(request.method) {
            let close = request.method == .connect
            return .respond(LocalResponse(.methodNotAllowed(allowed: Self.proxiedMethods), requestID: request.requestID, close: close))
        }
        if let reason = request.pathRefusal {
            return .respond(LocalResponse(.badRequest(reason), requestID: request.requestID))
        }
        if let builtIn = builtIn(path: request.path, method: request.method, requestID: request.requestID, head: request.head) { return .respond(builtIn) }
        if request.path == "/metrics" {
            // Served on the admin listener only; answered here so that no route proxies it either.
            return .respond(LocalResponse(.notFound("/metrics is served on the gateway's admin listener"), requestID: request.requestID))
        }
        // Everything a reload swaps, without a lock while no reload happened.
        let current = current(&snapshot)
        let (table, auth, trusted) = (current.table, current.auth, current.trusted)
        guard let route = table.match(request.path) else {
            return .respond(LocalResponse(.notFound("no route matches \(request.path)"), requestID: request.requestID))
        }
        trace.route = route.id
        if let allowed = route.allowedMethods, !allowed.contains(request.method) {
            return .respond(LocalResponse(.methodNotAllowed(allowed: route.allowedMethodList), requestID: request.requestID))
        }
        let bodyLimit = route.settings.maxBodyBytes ?? table.configuration.maxBodyBytes
        if let length = request.head.headers.first(name: "content-length").flatMap(Int.init), length > bodyLimit {
            return .respond(LocalResponse(.payloadTooLarge(limit: bodyLimit), requestID: request.requestID, close: true))
        }
        guard !route.settings.isPublic else {
            return admit(request, route: route, identity: nil, bodyLimit: bodyLimit, trusted: trusted, trace: &trace)
        }
        guard let auth else {
            return .respond(LocalResponse(.serviceUnavailable("authentication is not configured", retryAfter: 5), requestID: request.requestID))
        }
        switch auth.check(authorization: request.head.headers.first(name: "authorization"), method: request.method, route: route, memo: &memo) {
        case .allowed(let identity):
            trace.clientID = identity.clientID
            return admit(request, route: route, identity: identity, bodyLimit: bodyLimit, trusted: trusted, trace: &trace)
        case .refused(let error):
            return .respond(LocalResponse(error, requestID: request.requestID))
        case .needsKeys(let kid):
            return .needsKeys(Pending(request: request, route: route, guardian: auth, kid: kid, bodyLimit: bodyLimit, trusted: trusted))
        }
    }

    /// Finishes admission once the keys for a pending request have been fetched.
    func admit(after pending: Pending, trace: inout AccessTrace) async -> Admission {
        let outcome = await pending.guardian.checkAfterLoadingKeys(
            authorization: pending.request.head.headers.first(name: "authorization"), method: pending.request.method, route: pending.route,
            kid: pending.kid
        )
        switch outcome {
        case .allowed(let identity):
            trace.clientID = identity.clientID
            return admit(
                pending.request, route: pending.route, identity: identity, bodyLimit: pending.bodyLimit, trusted: pending.trusted, trace: &trace
            )
        case .refused(let error):
            return .respond(LocalResponse(error, requestID: pending.request.requestID))
        case .needsKeys:
            return .respond(LocalResponse(.serviceUnavailable("signing keys are unavailable", retryAfter: 1), requestID: pending.request.requestID))
        }
    }

    private func admit(
        _ request: RequestInfo, route: Route, identity: Identity?, bodyLimit: Int, trusted: TrustedProxies, trace: inout AccessTrace
    ) -> Admission {
        let forwardedFor = Self.joined(request.head.headers, "x-forwarded-for")
        var limitHeaders: RateLimitHeaders?
        if let limiter = route.limiter, let settings = route.settings.rateLimit {
            let key: String
            if settings.key == .client, let identity {
                key = identity.limiterKey
            } else {
                key = "ip:" + trusted.clientAddress(peer: request.peer, forwardedFor: forwardedFor)
            }
            let decision = limiter.consume(key: key)
            limitHeaders = RateLimitHeaders(decision)
            guard decision.allowed else {
                metrics.rateLimited(route: route.id)
                var headers = HTTPFields()
                Self.add(limitHeaders, to: &headers)
                headers[.retryAfter] = String(decision.retryAfterSeconds)
                let error = APIError(
                    .tooManyRequests, "rate_limited",
                    "rate limit of \(decision.limit) requests (refilling at \(JSONObjectReader.format(settings.bucket.perSecond))/s) reached; retry after \(decision.retryAfterSeconds) s",
                    headers: headers
                )
                return .respond(LocalResponse(error, requestID: request.requestID))
            }
        }
        var breakerGeneration: UInt64 = 0
        if let breaker = route.breaker {
            let (permission, generation) = breaker.acquireWithGeneration()
            breakerGeneration = generation
            if case .rejected(let retryAfter) = permission {
                var headers = HTTPFields()
                Self.add(limitHeaders, to: &headers)
                headers[.retryAfter] = String(retryAfter)
                let error = APIError(
                    .serviceUnavailable, "service_unavailable",
                    "the service behind route '\(route.id)' is failing and is given a short rest; try again in \(retryAfter) s", headers: headers
                )
                return .respond(LocalResponse(error, requestID: request.requestID))
            }
        }

        let (index, upstream) = route.balancer.pick()
        trace.upstream = upstream.origin
        return .forward(
            Forwarding(
                route: route, upstreamIndex: index, upstream: upstream, path: route.upstreamPath(for: request.path), query: request.query,
                forwardedFor: forwardedFor.map { trusted.contains(request.peer) ? $0 + ", " + request.peer : request.peer } ?? request.peer,
                identity: identity, dropAuthorization: identity != nil && !route.settings.forwardToken,
                limitHeaders: limitHeaders, bodyLimit: bodyLimit, breakerGeneration: breakerGeneration
            )
        )
    }

    /// All values of a header, joined as one list (nil when absent).
    static func joined(_ headers: HTTPHeaders, _ name: String) -> String? {
        var result: String?
        for value in headers[name] {
            result = result.map { $0 + ", " + value } ?? value
        }
        return result
    }

    /// The gateway's own endpoints on the public port: the health probes and the OpenAPI document (/metrics is on the admin listener).
    /// Another method on one of them is 405 with `Allow`. One switch, so an ordinary request pays
    /// for no extra lookup.
    func builtIn(path: Substring, method: HTTPRequest.Method, requestID: String, head: HTTPRequestHead) -> LocalResponse? {
        let readable = method == .get || method == .head
        switch path {
        case "/health/live":
            guard readable else { break }
            return LocalResponse(status: .ok, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{\"status\":\"up\"}"))
        case "/health/ready":
            guard readable else { break }
            return readiness()
        case "/openapi.json":
            guard readable else { break }
            // Clients and generators may cache it; a revalidation that still matches gets 304.
            let headers: HTTPFields = [.eTag: Self.openAPIETag, .cacheControl: "public, max-age=300"]
            if Self.matches(ifNoneMatch: head.headers["if-none-match"], etag: Self.openAPIETag) {
                return LocalResponse(status: .notModified, headers: headers, body: ByteBuffer())
            }
            var fields = headers
            fields[.contentType] = "application/json"
            return LocalResponse(status: .ok, headers: fields, body: Self.openAPIDocument)
        default:
            return nil
        }
        return LocalResponse(.methodNotAllowed(allowed: [.get, .head]), requestID: requestID)
    }

    /// The API's OpenAPI document, public like the health probes (`portier openapi` prints the same).
    static let openAPIDocument = ByteBuffer(string: OpenAPIDocument.json)

    /// A strong validator of the document: FNV-1a over its bytes, fixed for the build.
    static let openAPIETag: String = {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in OpenAPIDocument.json.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return "\"" + String(hash, radix: 16) + "\""
    }()

    /// `If-None-Match` (RFC 9110 13.1.2) on bytes: a field value of just `*`, or a list of entity
    /// tags (`W/` ignored: the comparison is weak) one of which is `etag`. Tags are read quote to
    /// quote, so a `,` or `*` inside one is part of it; anything malformed matches nothing.
    static func matches(ifNoneMatch values: [String], etag: String) -> Bool {
        let wanted = Array(etag.utf8)
        for value in values {
            let bytes = Array(value.utf8)
            var index = 0
            func skip(_ set: Set<UInt8>) {
                while index < bytes.count, set.contains(bytes[index]) { index += 1 }
            }
            skip([0x20, 0x09])
            if index < bytes.count, bytes[index] == UInt8(ascii: "*") {
                index += 1
                skip([0x20, 0x09])
                if index == bytes.count { return true }
                continue
            }
            while index < bytes.count {
                if bytes.count - index >= 2, bytes[index] == UInt8(ascii: "W"), bytes[index + 1] == UInt8(ascii: "/") { index += 2 }
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { break }
                guard let close = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "\"")) else { break }
                if bytes[index...close].elementsEqual(wanted) { return true }
                index = close + 1
                skip([0x20, 0x09, UInt8(ascii: ",")])
            }
        }
        return false
    }

    // MARK: - Accounting

    /// What the access log and metrics learn about a request as it goes.
    struct AccessTrace {
        var route = "none"
        var clientID: String?
        var upstream: String?
    }

    /// One JSON access-log line and the request metrics, when the response head is known.
    func record(
        _ request: RequestInfo, status: Int, started: ContinuousClock.Instant, trace: AccessTrace, cache: inout GatewayMetrics.RequestSeries.Cache,
        statusCache: inout StatusRecorder.Cache
    ) {
        let now = ContinuousClock.now
        let elapsed = now - started
        metrics.request(route: trace.route, method: request.method.rawValue, status: status, duration: elapsed, cache: &cache)
        recorder.record(route: trace.route, status: status, duration: elapsed, now: now, cache: &statusCache)
        guard var line = AccessLogLine(logger: logger) else { return }
        line.field("method", request.method.rawValue)
        line.field("path", request.path)
        line.field("status", status)
        line.field("route", trace.route)
        line.field("duration_ms", milliseconds: elapsed)
        line.field("client", request.peer)
        if let clientID = trace.clientID { line.field("client_id", clientID) }
        if let upstream = trace.upstream { line.field("upstream", upstream) }
        line.field("request_id", request.requestID)
        line.trace(request.trace)
        line.write()
    }

    /// Puts `RateLimit-*` headers into a local answer's fields.
    static func add(_ limitHeaders: RateLimitHeaders?, to fields: inout HTTPFields) {
        limitHeaders?.forEach { name, value in
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
    }

    /// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` for a route's answers, as
    /// numbers until written (small numbers make strings that need no allocation).
    struct RateLimitHeaders {
        var limit: Int
        var remaining: Int
        var reset: Int

        init(_ decision: TokenBucket.Decision) {
            limit = decision.limit
            remaining = decision.remaining
            reset = decision.resetSeconds
        }

        func forEach(_ body: (_ name: String, _ value: String) -> Void) {
            body("RateLimit-Limit", String(limit))
            body("RateLimit-Remaining", String(remaining))
            body("RateLimit-Reset", String(reset))
        }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return ((Double(seconds) * 1000 + Double(attoseconds) / 1e15) * 1000).rounded() / 1000
    }
}

extension NIOHTTP1.HTTPMethod {
    /// The same method as HTTPTypes spells it (routes and scopes are keyed by that).
    var portable: HTTPRequest.Method {
        switch self {
        case .GET: return .get
        case .HEAD: return .head
        case .POST: return .post
        case .PUT: return .put
        case .PATCH: return .patch
        case .DELETE: return .delete
        case .OPTIONS: return .options
        case .TRACE: return .trace
        case .CONNECT: return .connect
        default: return HTTPRequest.Method(rawValue) ?? .get
        }
    }
}
