import AsyncHTTPClient
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import PortierHTTP
import Resilience

/// One client connection of the gateway, on its event loop from first byte to last.
///
/// Requests are admitted by ``GatewayCore`` (routing, auth, rate limit, breaker: all synchronous)
/// and sent upstream with AsyncHTTPClient's delegate API on the same event loop, so a proxied
/// request never hops threads. Bodies stream both ways with backpressure: client reads pause while
/// the upstream has not taken the last chunk, and upstream reads pause while the client socket is
/// full. Requests on one connection are answered in order (HTTP/1.1 pipelining).
final class ProxyChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let core: GatewayCore
    private var context: ChannelHandlerContext?
    private var peer = "unknown"
    /// The request being answered.
    private var exchange: Exchange?
    /// Parts of later requests that arrived while one is being answered.
    private var backlog = CircularBuffer<HTTPRequestPart>()
    private var readsHeld = false
    private var readPending = false
    private var quiescing = false
    /// The client sent FIN: it sends nothing more, but still reads what it asked for.
    private var inputClosed = false
    /// How much of a refused body is read and dropped before the connection is cut anyway.
    static let lingerLimit = 64 << 20
    /// The answer to a request the decoder refused (head too large, malformed), due after the
    /// requests before it on this connection.
    private var refusal: GatewayCore.LocalResponse?
    private var refusalSent = false
    private let maxHeaderBytes: Int

    init(core: GatewayCore, maxHeaderBytes: Int) {
        self.core = core
        self.maxHeaderBytes = maxHeaderBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if let exchange, !exchange.requestEnded {
            receive(part, into: exchange)
        } else if exchange == nil, backlog.isEmpty, case .head(let head) = part {
            start(head)
        } else {
            backlog.append(part)
            holdReads()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Detach first: cancelling the upstream call reports back into this handler synchronously,
        // and must find nothing left to answer or to start.
        let current = exchange
        exchange = nil
        backlog.removeAll()
        if let current {
            current.upstreamAbandoned = true
            current.headTimer?.cancel()
            current.failBody(ChannelError.ioOnClosedChannel)
            // The client left; that says nothing about the upstream's health.
            current.releaseBreaker()
            if !current.accounted { account(current, status: 499) }
            current.upstreamTask?.cancel()
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: finish the current request, then close.
            quiescing = true
            if exchange == nil { context.close(promise: nil) }
            return
        }
        if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            inputClosed = true
            if exchange == nil && backlog.isEmpty && refusal == nil { context.close(promise: nil) }
            return
        }
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            // Nothing read for a while: close an idle keep-alive connection, or one whose client
            // stopped sending its request; a request waiting for its upstream has its own timeout.
            if exchange == nil || exchange?.requestEnded == false {
                if let exchange, !exchange.responseStarted {
                    respondLocally(exchange, .init(APIError(.requestTimeout, "request_timeout", "the request was not received in time"), requestID: exchange.request.requestID, close: true))
                }
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Once refused, the decoder reports every later read as an error too; the answer stands.
        guard refusal == nil, !refusalSent else { return }
        guard let parserError = error as? HTTPParserError, exchange?.requestEnded ?? true else {
            // Not HTTP, or the request being answered is itself broken mid-body: nothing sensible to send.
            context.close(promise: nil)
            return
        }
        let requestID = RequestID.make()
        var response: GatewayCore.LocalResponse
        if parserError == .headerOverflow {
            let error = APIError(
                .requestHeaderFieldsTooLarge, "request_header_fields_too_large",
                "the request head is larger than \(maxHeaderBytes) bytes, or has more than \(GatewaySettings.maxHeaderFieldCount) header fields"
            )
            response = GatewayCore.LocalResponse(error, requestID: requestID, close: true)
            core.logger.notice(
                "request head too large",
                metadata: ["client": .string(peer), "limit": .stringConvertible(maxHeaderBytes), "request_id": .string(requestID)]
            )
        } else {
            response = GatewayCore.LocalResponse(.badRequest("malformed HTTP request"), requestID: requestID, close: true)
            core.logger.notice(
                "malformed HTTP request", metadata: ["client": .string(peer), "error": .string("\(error)"), "request_id": .string(requestID)]
            )
        }
        response.headers[.xRequestID] = requestID
        // Answered in order: after the requests before it on this connection.
        refusal = response
        sendRefusalIfDue()
    }

    /// Writes the protocol-error answer once nothing is left to answer before it, then closes
    /// lingering: what the client still sends is read and dropped for a while, so that it sees
    /// the answer instead of a reset.
    private func sendRefusalIfDue() {
        guard let response = refusal, exchange == nil, backlog.isEmpty, let context else { return }
        refusal = nil
        refusalSent = true
        write(response, context: context, closeAfter: true)
        releaseReads()
        if inputClosed {
            context.close(promise: nil)
        } else {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .seconds(2)) { bound.value.close(promise: nil) }
        }
    }

    // MARK: Outbound (reads are held while the upstream is not ready for more)

    func read(context: ChannelHandlerContext) {
        if readsHeld {
            readPending = true
        } else {
            context.read()
        }
    }

    private func holdReads() {
        readsHeld = true
    }

    private func releaseReads() {
        guard readsHeld else { return }
        readsHeld = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    // MARK: Requests

    private func start(_ head: HTTPRequest) {
        guard let context else { return }
        let rawPath = head.path ?? "/"
        let query = rawPath.firstIndex(of: "?")
        let request = GatewayCore.RequestInfo(
            head: head, rawPath: query.map { rawPath[..<$0] } ?? rawPath[...],
            query: query.map { rawPath[rawPath.index(after: $0)...] },
            requestID: RequestID.resolve(head.headerFields[.xRequestID]), peer: peer
        )
        let exchange = Exchange(request: request, loop: context.eventLoop)
        exchange.closeAfter = quiescing || head.headerFields[values: .connection].contains { $0.lowercased().contains("close") }
        exchange.hasBody = head.headerFields[.contentLength].map { $0 != "0" } ?? (head.headerFields[.transferEncoding] != nil)
        self.exchange = exchange
        proceed(exchange, admission: core.admit(request, trace: &exchange.trace), context: context)
    }

    private func proceed(_ exchange: Exchange, admission: GatewayCore.Admission, context: ChannelHandlerContext) {
        switch admission {
        case .respond(let response):
            respondLocally(exchange, response)
        case .forward(let forwarding):
            forward(exchange, forwarding, context: context)
        case .needsKeys(let pending):
            // The token's key must be fetched first; body parts wait in the exchange meanwhile.
            holdReads()
            let loop = context.eventLoop
            let core = self.core
            let bound = NIOLoopBound((self, exchange), eventLoop: loop)
            let promise = loop.makePromise(of: (GatewayCore.Admission, GatewayCore.AccessTrace).self)
            let trace = exchange.trace
            promise.completeWithTask {
                var trace = trace
                let admission = await core.admit(after: pending, trace: &trace)
                return (admission, trace)
            }
            promise.futureResult.whenSuccess { admission, trace in
                let (handler, exchange) = bound.value
                guard handler.exchange === exchange, let context = handler.context else {
                    if case .forward(let forwarding) = admission { forwarding.route.breaker?.release() }
                    return
                }
                exchange.trace = trace
                handler.releaseReads()
                handler.proceed(exchange, admission: admission, context: context)
            }
        }
    }

    /// Request body parts of the current exchange: streamed upstream, buffered until the upstream
    /// asks for them, or discarded after a local answer.
    private func receive(_ part: HTTPRequestPart, into exchange: Exchange) {
        switch part {
        case .head:
            break
        case .body(let buffer):
            exchange.bodyBytes += buffer.readableBytes
            if let limit = exchange.bodyLimit, exchange.bodyBytes > limit {
                bodyTooLarge(exchange, limit: limit)
                return
            }
            guard !exchange.discardBody else {
                if exchange.closeAfter && exchange.bodyBytes > Self.lingerLimit { context?.close(promise: nil) }
                return
            }
            exchange.pendingBody.append(buffer)
            pumpBody(exchange)
        case .end:
            exchange.requestEnded = true
            pumpBody(exchange)
            finishIfDone(exchange)
        }
    }

    private func bodyTooLarge(_ exchange: Exchange, limit: Int) {
        exchange.failBody(BodyTooLargeError(limit: limit))
        exchange.discardBody = true
        exchange.closeAfter = true
        if !exchange.responseStarted {
            exchange.breakerOutcome(.success(.zero))
            respondLocally(exchange, GatewayCore.LocalResponse(.payloadTooLarge(limit: limit), requestID: exchange.request.requestID, close: true))
        }
    }

    /// Sends buffered body chunks upstream one at a time; while one is in flight, client reads wait.
    private func pumpBody(_ exchange: Exchange) {
        guard let writer = exchange.bodyWriter, !exchange.writingBody else {
            if !exchange.pendingBody.isEmpty { holdReads() }
            return
        }
        if let chunk = exchange.pendingBody.popFirst() {
            exchange.writingBody = true
            holdReads()
            let bound = NIOLoopBound((self, exchange), eventLoop: exchange.loop)
            writer.write(.byteBuffer(chunk)).whenComplete { result in
                let (handler, exchange) = bound.value
                exchange.writingBody = false
                if case .failure(let error) = result {
                    // The upstream no longer takes the body: drop the rest as it arrives.
                    exchange.failBody(error)
                    exchange.discardBody = true
                    if handler.exchange === exchange { handler.releaseReads() }
                    return
                }
                handler.pumpBody(exchange)
            }
        } else {
            if exchange.requestEnded && exchange.completeBody() { startHeadTimer(exchange) }
            if self.exchange === exchange { releaseReads() }
        }
    }

    // MARK: Upstream

    private func forward(_ exchange: Exchange, _ forwarding: GatewayCore.Forwarding, context: ChannelHandlerContext) {
        exchange.forwarding = forwarding
        exchange.bodyLimit = forwarding.bodyLimit
        exchange.upstreamStarted = .now
        let loop = context.eventLoop
        let request: HTTPClient.Request
        do {
            let bound = NIOLoopBound((self, exchange), eventLoop: loop)
            let length = exchange.request.head.headerFields[.contentLength].flatMap(Int64.init)
            let body: HTTPClient.Body? =
                exchange.hasBody
                ? .stream(contentLength: length) { writer in
                    let (handler, exchange) = bound.value
                    exchange.bodyWriter = writer
                    let done = loop.makePromise(of: Void.self)
                    exchange.bodyDone = done
                    handler.pumpBody(exchange)
                    return done.futureResult
                } : nil
            request = try HTTPClient.Request(
                url: forwarding.url, method: NIOHTTP1.HTTPMethod(rawValue: exchange.request.head.method.rawValue),
                headers: forwarding.headers, body: body
            )
        } catch {
            exchange.breakerOutcome(.failure(.zero))
            respondLocally(exchange, .init(APIError(.badGateway, "bad_gateway", "cannot build the upstream request"), requestID: exchange.request.requestID))
            return
        }
        let delegate = UpstreamDelegate(handler: NIOLoopBound(self, eventLoop: loop), exchange: exchange)
                // This loop's own client: its pooled connections, the callbacks and this handler all share
        // one thread. (`.delegateAndChannel` on a shared client opens a throwaway connection per request.)
        exchange.upstreamTask = core.upstreamClient(for: loop).execute(request: request, delegate: delegate, eventLoop: .delegate(on: loop))
        // The route's timeout is for the upstream to answer, so it starts once the request is
        // sent: a client's slow upload does not count against the upstream.
        if !exchange.hasBody { startHeadTimer(exchange) }
    }

    private func startHeadTimer(_ exchange: Exchange) {
        guard let forwarding = exchange.forwarding, exchange.headTimer == nil, !exchange.responseStarted else { return }
        let timeout = forwarding.route.settings.timeout
        let bound = NIOLoopBound(exchange, eventLoop: exchange.loop)
        exchange.headTimer = exchange.loop.scheduleTask(
            in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        ) {
            let exchange = bound.value
            exchange.timedOut = true
            exchange.upstreamTask?.cancel()
        }
    }

    fileprivate func upstreamHead(_ head: HTTPResponseHead, exchange: Exchange) {
        guard self.exchange === exchange, let context, let forwarding = exchange.forwarding, !exchange.responseStarted else { return }
        exchange.headTimer?.cancel()
        let status = Int(head.status.code)
        exchange.breakerOutcome(status >= 500 ? .failure(ContinuousClock.now - exchange.upstreamStarted) : .success(ContinuousClock.now - exchange.upstreamStarted))
        var fields = ProxyHeaders.downstreamFields(from: head.headers)
        fields.append(contentsOf: forwarding.limitHeaders)
        fields[.xRequestID] = exchange.request.requestID
        if exchange.closeAfter { fields[.connection] = "close" }
        exchange.responseStarted = true
        exchange.relayingUpstream = true
        exchange.responseBytesExpected = head.headers.first(name: "content-length").flatMap(Int.init)
        if exchange.hasBody && !exchange.bodySent {
            // The upstream answered before taking the whole body (an early 413, say). The rest of
            // the client's body is read and dropped, and the connection closes after the answer.
            exchange.discardBody = true
            exchange.closeAfter = true
            exchange.pendingBody.removeAll()
            fields[.connection] = "close"
            if exchange.request.head.headerFields[.contentLength] == nil {
                // A chunked upload may simply end here, which lets the upstream call finish normally.
                exchange.completeBody()
            }
            releaseReads()
        }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .init(code: status, reasonPhrase: head.status.reasonPhrase), headerFields: fields))), promise: nil)
        account(exchange, status: status)
    }

    fileprivate func upstreamBody(_ buffer: ByteBuffer, exchange: Exchange) -> EventLoopFuture<Void>? {
        guard self.exchange === exchange, let context, exchange.relayingUpstream else { return nil }
        let promise = context.eventLoop.makePromise(of: Void.self)
        exchange.responseBytesRelayed += buffer.readableBytes
        context.writeAndFlush(wrapOutboundOut(.body(buffer)), promise: promise)
        if exchange.hasBody && !exchange.bodySent, let expected = exchange.responseBytesExpected, exchange.responseBytesRelayed >= expected {
            // An early answer to an upload the upstream stopped reading: the client has the whole
            // response; the upstream call would wait for the rest of the body forever.
            exchange.upstreamAbandoned = true
            exchange.upstreamTask?.cancel()
            upstreamFinished(exchange: exchange, force: true)
        }
        // Only wait for the socket when it is full; that is the backpressure towards the upstream.
        return context.channel.isWritable ? nil : promise.futureResult
    }

    fileprivate func upstreamFinished(exchange: Exchange, force: Bool = false) {
        guard self.exchange === exchange, let context, exchange.relayingUpstream, !exchange.responseEnded else { return }
        guard force || !exchange.upstreamAbandoned else { return }
        exchange.responseEnded = true
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        finishIfDone(exchange)
    }

    fileprivate func upstreamFailed(_ error: any Error, exchange: Exchange) {
        exchange.headTimer?.cancel()
        guard self.exchange === exchange, let forwarding = exchange.forwarding, !exchange.upstreamAbandoned else { return }
        if exchange.relayingUpstream {
            // The head is out; all that is left is to cut the connection so the client sees the truncation.
            core.logger.warning(
                "upstream failed mid-response", metadata: ["request_id": .string(exchange.request.requestID), "error": .string("\(error)")]
            )
            exchange.closeAfter = true
            exchange.responseEnded = true
            context?.close(promise: nil)
            return
        }
        if let tooLarge = error as? BodyTooLargeError {
            exchange.breakerOutcome(.success(.zero))
            respondLocally(exchange, .init(.payloadTooLarge(limit: tooLarge.limit), requestID: exchange.request.requestID, close: true))
            return
        }
        let elapsed = ContinuousClock.now - exchange.upstreamStarted
        let route = forwarding.route
        let failure: UpstreamFailure = exchange.timedOut ? .timeout : UpstreamFailure(error)
        let apiError: APIError
        switch failure {
        case .timeout:
            core.metrics.upstreamError(route: route.id, kind: "timeout")
            apiError = APIError(
                .gatewayTimeout, "upstream_timeout",
                "route '\(route.id)': the upstream did not answer within \(GatewayCore.milliseconds(route.settings.timeout)) ms"
            )
        case .connect:
            core.metrics.upstreamError(route: route.id, kind: "connect")
            route.balancer.eject(forwarding.upstreamIndex)
            // Nothing was sent, so a request without a body may try another instance once.
            if !exchange.hasBody, !exchange.retried, let context, let (index, upstream) = route.balancer.alternative(to: forwarding.upstreamIndex) {
                exchange.retried = true
                exchange.resetUpstream()
                var retry = forwarding
                retry.upstreamIndex = index
                retry.upstream = upstream
                retry.url = core.url(upstream, route: route, request: exchange.request)
                exchange.trace.upstream = upstream.origin
                forward(exchange, retry, context: context)
                return
            }
            apiError = APIError(.badGateway, "bad_gateway", "route '\(route.id)': cannot connect to the upstream")
        case .reset:
            core.metrics.upstreamError(route: route.id, kind: "reset")
            apiError = APIError(.badGateway, "bad_gateway", "route '\(route.id)': the upstream closed the connection without a full response")
        }
        exchange.breakerOutcome(.failure(elapsed))
        var response = GatewayCore.LocalResponse(apiError, requestID: exchange.request.requestID)
        response.headers.append(contentsOf: forwarding.limitHeaders)
        // The request body may be half sent; the connection cannot be reused safely.
        response.close = exchange.hasBody && !exchange.requestEnded
        respondLocally(exchange, response)
    }

    // MARK: Responses

    private func respondLocally(_ exchange: Exchange, _ response: GatewayCore.LocalResponse) {
        guard let context, !exchange.responseStarted else { return }
        exchange.headTimer?.cancel()
        exchange.responseStarted = true
        exchange.responseEnded = true
        if exchange.upstreamTask != nil {
            exchange.upstreamAbandoned = true
            exchange.upstreamTask?.cancel()
        }
        if response.close { exchange.closeAfter = true }
        if !exchange.requestEnded {
            // Whatever is left of the body is read and dropped, so the connection stays usable.
            exchange.discardBody = true
            exchange.pendingBody.removeAll()
        }
        account(exchange, status: Int(response.status.code))
        var response = response
        response.headers[.xRequestID] = exchange.request.requestID
        write(response, context: context, closeAfter: exchange.closeAfter, head: exchange.request.head.method == .head)
        if exchange.closeAfter && !exchange.requestEnded {
            // Lingering close, as nginx does: a client still sending its body would see a reset
            // instead of this response if the socket closed now. Read and drop the rest for a while.
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .seconds(2)) { bound.value.close(promise: nil) }
        }
        releaseReads()
        finishIfDone(exchange)
    }

    private func write(_ response: GatewayCore.LocalResponse, context: ChannelHandlerContext, closeAfter: Bool, head: Bool = false) {
        var fields = response.headers
        fields[.contentLength] = String(response.body.readableBytes)
        if closeAfter { fields[.connection] = "close" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: response.status, headerFields: fields))), promise: nil)
        if !head, response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(response.body)), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func account(_ exchange: Exchange, status: Int) {
        guard !exchange.accounted else { return }
        exchange.accounted = true
        core.record(exchange.request, status: status, started: exchange.started, trace: exchange.trace)
    }

    /// When both the request and the response are complete, the next request may start.
    private func finishIfDone(_ exchange: Exchange) {
        guard self.exchange === exchange, exchange.requestEnded, exchange.responseEnded, let context else { return }
        self.exchange = nil
        if exchange.closeAfter || quiescing {
            context.close(promise: nil)
            return
        }
        releaseReads()
        // Replay parts of pipelined requests that arrived meanwhile.
        while self.exchange == nil, let part = backlog.popFirst() {
            if case .head(let head) = part {
                start(head)
            }
        }
        while let current = self.exchange, !current.requestEnded, let part = backlog.popFirst() {
            receive(part, into: current)
        }
        if !backlog.isEmpty { holdReads() }
        if refusal != nil {
            sendRefusalIfDue()
            return
        }
        if inputClosed && self.exchange == nil && backlog.isEmpty { context.close(promise: nil) }
    }
}

/// One request/response exchange on a connection; touched only on the connection's event loop.
final class Exchange {
    let request: GatewayCore.RequestInfo
    let loop: any EventLoop
    let started = ContinuousClock.now
    var trace = GatewayCore.AccessTrace()
    var forwarding: GatewayCore.Forwarding?
    var upstreamStarted = ContinuousClock.now
    var upstreamTask: HTTPClient.Task<Void>?
    var headTimer: Scheduled<Void>?
    var timedOut = false
    var retried = false
    var hasBody = false
    var bodyLimit: Int?
    var bodyBytes = 0
    var pendingBody = CircularBuffer<ByteBuffer>()
    var bodyWriter: HTTPClient.Body.StreamWriter?
    var bodyDone: EventLoopPromise<Void>?
    var writingBody = false
    var discardBody = false
    var requestEnded = false
    /// A response head went out (local or upstream).
    var responseStarted = false
    /// The upstream's head went out, so its body belongs on this connection.
    var relayingUpstream = false
    /// The gateway answered itself and cancelled the upstream call; its late events are ignored.
    var upstreamAbandoned = false
    var responseEnded = false
    var closeAfter = false
    var accounted = false
    private var breakerRecorded = false

    /// The whole request body was handed to the upstream call.
    var bodySent = false
    var responseBytesExpected: Int?
    var responseBytesRelayed = 0

    init(request: GatewayCore.RequestInfo, loop: any EventLoop) {
        self.request = request
        self.loop = loop
    }

    /// Records the call's outcome with the route's breaker, exactly once per admitted call.
    func breakerOutcome(_ outcome: CircuitBreakerOutcome) {
        guard !breakerRecorded, let forwarding else { return }
        breakerRecorded = true
        forwarding.route.breaker?.record(outcome)
    }

    /// Forgets the failed upstream call before a retry.
    func resetUpstream() {
        upstreamTask = nil
        headTimer?.cancel()
        headTimer = nil
        timedOut = false
    }

    /// Ends the upstream body; true the first time.
    @discardableResult
    func completeBody() -> Bool {
        guard let done = bodyDone else { return false }
        bodyDone = nil
        bodySent = true
        done.succeed(())
        return true
    }

    /// Gives the breaker permit back without an outcome, if none was recorded.
    func releaseBreaker() {
        guard !breakerRecorded, let forwarding else { return }
        breakerRecorded = true
        forwarding.route.breaker?.release()
    }

    func failBody(_ error: any Error) {
        bodyDone?.fail(error)
        bodyDone = nil
        pendingBody.removeAll()
    }
}

typealias CircuitBreakerOutcome = Resilience.CircuitBreaker.Outcome

/// Receives the upstream response on the client connection's event loop (AsyncHTTPClient's
/// `.delegate(on:)` preference guarantees it), and hands each event to the handler.
final class UpstreamDelegate: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = Void
    private let handler: NIOLoopBound<ProxyChannelHandler>
    private let exchange: Exchange

    init(handler: NIOLoopBound<ProxyChannelHandler>, exchange: Exchange) {
        self.handler = handler
        self.exchange = exchange
    }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        handler.value.upstreamHead(head, exchange: exchange)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        handler.value.upstreamBody(buffer, exchange: exchange) ?? task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        handler.value.upstreamFinished(exchange: exchange)
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        handler.value.upstreamFailed(error, exchange: exchange)
    }
}

/// Thrown when a streamed request body passes the route's limit.
struct BodyTooLargeError: Error {
    let limit: Int
}
