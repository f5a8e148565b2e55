import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import PortierHTTP
import Tokens
#if canImport(Glibc)
import Glibc
#endif

/// `portier auth`'s HTTP/1 channel: Hummingbird's, with ``TokenEndpointHandler`` in front of it.
struct TokenServerChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let http1: HTTP1Channel
    let fastPath: TokenFastPath

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            // Right after the HTTP/1 decoder: the handler sees NIOHTTP1 parts (version, keep-alive)
            // and writes its answers without Hummingbird's HTTPTypes conversion.
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(TokenEndpointHandler(fastPath), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

/// What the fast path needs to answer a token request on its own.
struct TokenFastPath: Sendable {
    /// Form bodies above this go to Hummingbird (which takes up to ``FormBody/maxBytes``).
    static let maxBody = 4096
    let controller: OAuthController
    let serverName: String

    /// Only the plain case: `POST /oauth/token` over keep-alive HTTP/1.1, without `Expect`.
    func isCandidate(_ head: HTTPRequestHead) -> Bool {
        head.method == .POST && head.uri == "/oauth/token" && head.version == .http1_1 && head.isKeepAlive
            && !head.headers.contains(name: "expect")
    }

    /// The token response for a known client whose secret was verified before, or nil when
    /// anything is not plainly fine: then the request goes to ``OAuthController/token(_:_:)``,
    /// which decides, answers and logs every refusal, and runs PBKDF2 off the event loop.
    func answer(_ head: HTTPRequestHead, body: ByteBuffer?, peer: String) -> OAuthController.TokenResponse? {
        guard let contentType = Self.single("content-type", in: head.headers), FormBody.isForm(contentType: contentType.lowercased()),
            let form = try? FormBody.parse(body.map { String(buffer: $0) } ?? ""), form["grant_type"] == "client_credentials",
            head.headers["authorization"].count <= 1,
            case let authorization = head.headers.first(name: "authorization"),
            let (credentials, digest) = controller.authenticator.fastCredentials(authorization: authorization, form: form),
            let client = controller.clients.findWithoutWaiting(id: credentials.id),
            let scopes = try? controller.grantedScopes(client, form: form)
        else { return nil }
        let now = TokenVerifier.now()
        // Rotated this very second: the slow path waits for the next one.
        if let notBefore = client.notBefore, now <= notBefore { return nil }
        let forwardedFor = head.headers["x-forwarded-for"]
        let address = controller.configuration.trustedProxies.clientAddress(
            peer: peer, forwardedFor: forwardedFor.isEmpty ? nil : forwardedFor.joined(separator: ", ")
        )
        guard controller.authenticator.admitVerified(credentials, digest: digest, client: client, address: address) else { return nil }
        if let authorization { controller.authenticator.rememberDecoded(authorization: authorization, credentials: credentials, digest: digest) }
        return try? controller.issue(to: client, scopes: scopes, now: now)
    }

    /// A header's value when it is there exactly once.
    static func single(_ name: String, in headers: HTTPHeaders) -> String? {
        let values = headers[name]
        return values.count == 1 ? values.first : nil
    }
}

/// Answers `POST /oauth/token` for known clients on the event loop that read it: one read, one
/// RSA signature and one write, without a hop to Hummingbird's tasks, a database task or another
/// thread. Everything else, and every token request it cannot answer from what it already knows,
/// passes to Hummingbird untouched, so errors, PBKDF2 and logging of refusals stay in one place.
///
/// Order on a connection is kept: a request is only answered here when every earlier request
/// that went to Hummingbird has been answered.
final class TokenEndpointHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        /// A candidate whose body is still arriving.
        case holding(HTTPRequestHead, ByteBuffer?, started: ContinuousClock.Instant)
        /// Passing the rest of a request to Hummingbird.
        case forwarding
    }

    private let fastPath: TokenFastPath
    private var state = State.idle
    /// Requests handed to Hummingbird whose response has not ended yet.
    private var unanswered = 0
    /// Answers written and not yet flushed.
    private var needsFlush = false
    private var flushScheduled = false
    private var requestIDs = RequestID.Generator()
    private var date = HTTPDate()
    private var peer = "unknown"
    /// A request handed to Hummingbird ends the connection: nothing after it is answered here.
    private var closing = false

    init(_ fastPath: TokenFastPath) {
        self.fastPath = fastPath
    }

    func handlerAdded(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state {
        case .idle:
            // Not while the client is not reading its answers (the regular path waits for it), nor
            // after a request that ends the connection.
            if case .head(let head) = part, unanswered == 0, !closing, context.channel.isWritable, fastPath.isCandidate(head) {
                state = .holding(head, nil, started: .now)
                return
            }
            pass(part, context: context)
        case .holding(let head, var body, let started):
            switch part {
            case .head:
                // The decoder ends a request before it starts the next; should it not, give up the fast path.
                release(head, body, context: context)
                pass(part, context: context)
            case .body(var chunk):
                if (body?.readableBytes ?? 0) + chunk.readableBytes > TokenFastPath.maxBody {
                    release(head, body, context: context)
                    pass(part, context: context)
                } else if body == nil {
                    state = .holding(head, chunk, started: started)
                } else {
                    body?.writeBuffer(&chunk)
                    state = .holding(head, body, started: started)
                }
            case .end:
                state = .idle
                if let response = fastPath.answer(head, body: body, peer: peer) {
                    respond(response, head: head, started: started, context: context)
                } else {
                    release(head, body, context: context)
                    pass(part, context: context)
                }
            }
        case .forwarding:
            pass(part, context: context)
        }
    }

    /// Answers are flushed when the event loop finishes its pass over ready sockets (Netty's flush
    /// consolidation): wrk, or any busy client, is woken once for several answers.
    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush && !flushScheduled {
            flushScheduled = true
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let (handler, context) = bound.value
                handler.flushScheduled = false
                handler.flushNow(context)
            }
        }
        context.fireChannelReadComplete()
    }

    private func flushNow(_ context: ChannelHandlerContext) {
        guard needsFlush else { return }
        needsFlush = false
        context.flush()
    }

    /// Graceful shutdown: Hummingbird closes a connection once it has nothing in flight, and it
    /// does not know about this handler's requests. So answers waiting for the end of the pass are
    /// flushed now, and a request still being received is handed over for Hummingbird to finish.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            flushNow(context)
            if case .holding(let head, let body, _) = state { release(head, body, context: context) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), unanswered > 0 { unanswered -= 1 }
        context.write(data, promise: promise)
    }

    /// Hands a held request's head and body to Hummingbird.
    private func release(_ head: HTTPRequestHead, _ body: ByteBuffer?, context: ChannelHandlerContext) {
        state = .forwarding
        pass(.head(head), context: context)
        if let body { pass(.body(body), context: context) }
    }

    private func pass(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            unanswered += 1
            state = .forwarding
            if !head.isKeepAlive { closing = true }
        case .body: break
        case .end: state = .idle
        }
        context.fireChannelRead(wrapInboundOut(part))
    }

    /// The same response Hummingbird would write, headers in the same order.
    private func respond(_ token: OAuthController.TokenResponse, head: HTTPRequestHead, started: ContinuousClock.Instant, context: ChannelHandlerContext) {
        let body = ByteBuffer(bytes: token.json)
        let requestID = RequestID.resolve(TokenFastPath.single("x-request-id", in: head.headers), generator: &requestIDs)
        let headers: HTTPHeaders = [
            "Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache",
            "Content-Length": String(body.readableBytes), "X-Request-Id": requestID, "Date": date.now(),
            "Server": fastPath.serverName,
        ]
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        needsFlush = true
        // The router's metrics middleware never sees this request: count it as it would.
        fastPath.controller.metrics.requests.record(route: "/oauth/token", method: "POST", status: 200, duration: .now - started)
        if var line = AccessLogLine(logger: fastPath.controller.logger) {
            line.field("method", "POST")
            line.field("path", head.uri)
            line.field("status", 200)
            line.field("duration_ms", milliseconds: ContinuousClock.now - started)
            line.field("client", peer)
            line.field("request_id", requestID)
            line.write()
        }
    }
}

/// The IMF-fixdate of RFC 9110 ("Mon, 30 Nov 2026 05:10:46 GMT"), formatted once per second.
struct HTTPDate {
    private var second = -1
    private var text = ""

    mutating func now() -> String {
        var clock = timespec()
        clock_gettime(CLOCK_REALTIME, &clock)
        if clock.tv_sec != second {
            second = clock.tv_sec
            text = Self.format(second)
        }
        return text
    }

    static func format(_ seconds: Int) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let day = days[Int(parts.tm_wday) % 7]
        let month = months[Int(parts.tm_mon) % 12]
        return "\(day), \(two(parts.tm_mday)) \(month) \(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
