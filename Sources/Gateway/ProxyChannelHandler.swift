import GatewayConfig
import GatewayHeaders
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import PortierHTTP
import PortierTracing
import Resilience
import Tracing

/// One client connection of the gateway, on its event loop from first byte to last.
///
/// What to do is decided by ``ProxyStateMachine``; this handler feeds it the connection's events
/// and performs the steps it returns. Requests are admitted by ``GatewayCore`` (routing, auth,
/// rate limit, breaker: all synchronous unless signing keys must be fetched) and sent upstream on
/// a pooled connection of the same event loop (``UpstreamPool``): heads are written as bytes from
/// NIO's decoded ones with the minimal header edits (``HTTPWire``), and bodies stream both ways
/// with backpressure.
/// Writes are flushed once per read batch.
final class ProxyChannelHandler: ChannelDuplexHandler, RemovableChannelHandler, DeferredFlush {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let core: GatewayCore
    private let pool: UpstreamPool
    private let maxHeaderBytes: Int
    private var machine = ProxyStateMachine()
    private var context: ChannelHandlerContext?
    private var peer = "unknown"
    /// The request being answered: what the machine does not need to decide, only to act.
    private var leg: Leg?
    /// The answer to a request the decoder refused.
    private var refusal: GatewayCore.LocalResponse?
    private var readsHeldByMachine = false
    private var readsHeldByUpstream = false
    private var readPending = false
    private var upstreamFlushPending = false
    /// Inside a batch of client reads: upstream writes are flushed once, when the batch ends.
    private var inReadBatch = false
    private var ids = RequestID.Generator()
    private var traces = TraceIDGenerator()
    /// The framing of the response being written to the client.
    private var response = ResponseWriter()
    /// The upstream's head while the step that writes it to the client is performed.
    private var pendingHead: UpstreamHead?
    /// Storage for the heads this connection writes, to the client and upstream.
    private var responseHeads = HeadScratch()
    private var requestHeads = HeadScratch()
    /// The last token this connection sent, and its cache entry.
    private var tokenMemo = TokenCache.Memo()
    /// The route table and auth settings as of this connection's last request.
    private var snapshot = GatewayCore.SnapshotCache()
    /// The metrics of the last request's route, method and status, reused while they repeat.
    private var metricsCache = GatewayMetrics.RequestSeries.Cache()
    private var statusCache: StatusRecorder.Cache

    init(core: GatewayCore, pool: UpstreamPool, maxHeaderBytes: Int) {
        self.core = core
        self.pool = pool
        self.maxHeaderBytes = maxHeaderBytes
        // Connections of one event loop share its pool, and its shard of the status recorder.
        self.statusCache = StatusRecorder.Cache(shard: ObjectIdentifier(pool))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Client events

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inReadBatch = true
        perform(machine.received(unwrapInboundIn(data)))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadBatch = false
        if upstreamFlushPending {
            upstreamFlushPending = false
            if let connection = leg?.connection {
                // Unflushed bytes count against the high-water mark, so a full upstream still
                // holds client reads; its writability change resumes them after the flush.
                pool.flushAtEndOfPass(connection)
                readsHeldByUpstream = !connection.isWritable
            }
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let current = leg
        perform(machine.closed())
        if let current {
            // The client left before its answer; that says nothing about the upstream.
            if !current.accounted { account(current, status: 499) }
            current.timeout = nil
        }
        leg = nil
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // The client's socket filled up or drained: stop or resume reading the upstream.
        if context.channel.isWritable {
            leg?.connection?.resumeReads()
        } else {
            leg?.connection?.holdReads()
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            perform(machine.quiesce())
            return
        }
        if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            perform(machine.inputEnded())
            return
        }
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            perform(machine.idleTimeout())
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.close(promise: nil)
            return
        }
        if refusal == nil {
            refusal = makeRefusal(parserError)
        }
        perform(machine.decoderFailed())
    }

    private func makeRefusal(_ error: HTTPParserError) -> GatewayCore.LocalResponse {
        let requestID = ids.next()
        var response = refusalResponse(error, requestID: requestID)
        response.headers[.xRequestID] = requestID
        return response
    }

    private func refusalResponse(_ error: HTTPParserError, requestID: String) -> GatewayCore.LocalResponse {
        if error == .headerOverflow {
            core.logger.notice(
                "request head too large", metadata: ["client": .string(peer), "limit": .stringConvertible(maxHeaderBytes), "request_id": .string(requestID)]
            )
            let apiError = APIError(
                .requestHeaderFieldsTooLarge, "request_header_fields_too_large",
                "the request head is larger than \(maxHeaderBytes) bytes, or has more than \(GatewaySettings.maxHeaderFieldCount) header fields"
            )
            return GatewayCore.LocalResponse(apiError, requestID: requestID, close: true)
        }
        core.logger.notice("malformed HTTP request", metadata: ["client": .string(peer), "error": .string("\(error)"), "request_id": .string(requestID)])
        return GatewayCore.LocalResponse(.badRequest("malformed HTTP request"), requestID: requestID, close: true)
    }

    // MARK: Reads (held while the machine buffers, or while the upstream cannot take more)

    func read(context: ChannelHandlerContext) {
        if readsHeldByMachine || readsHeldByUpstream {
            readPending = true
        } else {
            context.read()
        }
    }

    private func updateReads() {
        guard !readsHeldByMachine, !readsHeldByUpstream, readPending, let context else { return }
        readPending = false
        context.read()
    }

    // MARK: Upstream events (from the borrowed UpstreamConnection, on this loop)

    func upstreamRead(_ part: UpstreamPart, from connection: UpstreamConnection) {
        guard let leg, leg.connection === connection else { return }
        leg.lastUpstreamActivity = .now
        switch part {
        case .head(let head):
            leg.upstreamStatus = head.parsed.status
            // A body without a length cannot be chunked for an HTTP/1.0 client: it ends with the connection.
            let unsized = head.parsed.framing == .chunked || head.parsed.framing == .untilClose
            let delimitedByClose = leg.request.head.version.minor == 0 && unsized
            // Written to the client while the machine's step is performed, then let go (its
            // field list is the parser's storage, used again for the next response).
            pendingHead = head
            perform(machine.upstreamHead(status: head.parsed.status, keepAlive: head.parsed.keepAlive, delimitedByClose: delimitedByClose))
            pendingHead = nil
        case .body(let buffer):
            perform(machine.upstreamBody(buffer))
        case .end:
            perform(machine.upstreamEnd())
        }
    }

    func upstreamReadComplete(from connection: UpstreamConnection) {
        guard leg?.connection === connection else { return }
        pool.flushAtEndOfPass(self)
    }

    func flushNow() {
        context?.flush()
    }

    func upstreamClosed(_ error: (any Error)?, from connection: UpstreamConnection) {
        guard let leg, leg.connection === connection else { return }
        leg.connection = nil
        // A close mid-response is the upstream hanging up; anything else the parser refused is malformed.
        if let error = error as? ResponseParser.ParseError, error != .truncated, let route = leg.forwarding?.route {
            core.metrics.upstreamError(route: route.id, kind: "malformed")
            core.logger.warning(
                "upstream sent a malformed response",
                metadata: ["route": .string(route.id), "error": .string("\(error)"), "request_id": .string(leg.request.requestID)]
            )
        } else if leg.upstreamStatus == nil, let route = leg.forwarding?.route {
            core.metrics.upstreamError(route: route.id, kind: "reset")
        }
        // A connection closed before any answer may be a stale keep-alive one, and bytes that do not
        // start with a status line may be the tail of the previous response; a response with a
        // proper status line that is malformed further on is this request's answer.
        let answered = (error as? ResponseParser.ParseError).map { ![.truncated, .unsolicited, .malformedStatusLine].contains($0) } ?? false
        perform(machine.upstreamFailed(answered: answered))
    }

    func upstreamWritabilityChanged(from connection: UpstreamConnection) {
        guard leg?.connection === connection else { return }
        readsHeldByUpstream = !connection.isWritable
        updateReads()
    }

    // MARK: Performing steps

    private func perform(_ first: ProxyStateMachine.Step) {
        var step = first
        while true {
            execute(step)
            guard step.replay else { return }
            step = machine.next()
        }
    }

    private func execute(_ step: ProxyStateMachine.Step) {
        if let settlement = step.settle { settle(settlement) }
        if let action = step.upstream { upstream(action) }
        if let action = step.client { client(action) }
        switch step.timer {
        case .arm:
            guard let leg, let timeout = leg.forwarding?.route.settings.timeout else { break }
            leg.timeout = timeout
            leg.lastUpstreamActivity = .now
            pool.watch(leg, handler: self)
        case .disarm:
            leg?.timeout = nil
        case nil: break
        }
        switch step.reads {
        case .hold: readsHeldByMachine = true
        case .resume:
            readsHeldByMachine = false
            updateReads()
        case nil: break
        }
        switch step.connection {
        case .close:
            // Writes may be waiting for the end of the pass; a close would drop them.
            context?.flush()
            context?.close(promise: nil)
        case .lingerThenClose:
            if let context {
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .seconds(2)) { bound.value.close(promise: nil) }
            }
        case nil: break
        }
    }

    private func settle(_ settlement: ProxyStateMachine.Settlement) {
        guard let leg, let forwarding = leg.forwarding, let breaker = forwarding.route.breaker else { return }
        let elapsed = ContinuousClock.now - leg.upstreamStarted
        let generation = forwarding.breakerGeneration
        switch settlement {
        case .success: breaker.record(.success(elapsed), generation: generation)
        case .failure: breaker.record(.failure(elapsed), generation: generation)
        case .release: breaker.release(generation: generation)
        }
    }

    // MARK: Upstream actions

    private func upstream(_ action: ProxyStateMachine.UpstreamAction) {
        guard let leg else {
            return
        }
        switch action {
        case .acquire(let fresh):
            acquire(for: leg, fresh: fresh)
        case .send(let body, let end):
            guard let connection = leg.connection, let forwarding = leg.forwarding else { return }
            leg.upstreamStarted = .now
            let head = requestHeads.write { buffer in
                leg.chunkedUpload = forwarding.writeHead(of: leg.request, into: &buffer)
            }
            connection.writeHead(head, method: leg.request.head.method)
            for part in body { connection.writeBody(part, chunked: leg.chunkedUpload) }
            if end { connection.writeEnd(chunked: leg.chunkedUpload) }
            flushUpstream(connection)
        case .sendBody(let buffer):
            guard let connection = leg.connection else { return }
            connection.writeBody(buffer, chunked: leg.chunkedUpload)
            flushUpstream(connection)
        case .sendEnd:
            guard let connection = leg.connection else { return }
            connection.writeEnd(chunked: leg.chunkedUpload)
            flushUpstream(connection)
        case .release(let reusable):
            guard let connection = leg.connection else { return }
            leg.connection = nil
            if reusable { connection.completed += 1 }
            pool.release(connection, reusable: reusable)
            readsHeldByUpstream = false
        case .abandon:
            leg.abandoned = true
            leg.connection?.close()
            leg.connection = nil
            readsHeldByUpstream = false
        }
    }

    /// Flushes now, or at the end of the client read batch this write came from; past the
    /// high-water mark it flushes at once, and client reads pause while the upstream socket is full.
    private func flushUpstream(_ connection: UpstreamConnection) {
        if inReadBatch && connection.isWritable {
            upstreamFlushPending = true
            return
        }
        upstreamFlushPending = false
        connection.flush()
        readsHeldByUpstream = !connection.isWritable
    }

    private func acquire(for leg: Leg, fresh: Bool) {
        guard let forwarding = leg.forwarding else { return }
        let key = UpstreamPool.Key(forwarding.upstream)
        if !fresh, let connection = pool.takeIdle(key) {
            core.metrics.upstreamConnectionReused.increment()
            attach(connection, to: leg)
            return
        }
        pool.connect(key) { [self] result in
            guard self.leg === leg, !leg.abandoned else {
                // The exchange ended while the connection was being made.
                if case .success(let connection) = result { pool.release(connection, reusable: true) }
                return
            }
            switch result {
            case .success(let connection):
                core.metrics.upstreamConnectionOpened.increment()
                attach(connection, to: leg)
            case .failure:
                core.metrics.upstreamConnectionFailed.increment()
                connectFailed(leg)
            }
        }
    }

    private func attach(_ connection: UpstreamConnection, to leg: Leg) {
        connection.owner = self
        leg.connection = connection
        if context?.channel.isWritable == false { connection.holdReads() }
        perform(machine.attached(reused: connection.completed > 0))
    }

    private func connectFailed(_ leg: Leg) {
        guard let forwarding = leg.forwarding else { return }
        let route = forwarding.route
        core.metrics.upstreamError(route: route.id, kind: "connect")
        route.balancer.eject(forwarding.upstreamIndex)
        let alternative = route.balancer.alternative(to: forwarding.upstreamIndex)
        let step = machine.connectFailed(alternativeAvailable: alternative != nil)
        if case .acquire = step.upstream, let (index, upstream) = alternative {
            forwarding.retarget(index: index, upstream: upstream)
            leg.trace.upstream = upstream.origin
        }
        perform(step)
    }

    /// The route's timeout covers every wait for the upstream: for the head once the request is
    /// sent, and between body reads after it (a stalled download is cut as well). The loop's pool
    /// checks the waiting requests and calls this one when its upstream has been quiet too long.
    func upstreamTimedOut(_ leg: Leg) {
        guard self.leg === leg, leg.timeout != nil else { return }
        leg.timeout = nil
        if leg.upstreamStatus != nil, let route = leg.forwarding?.route {
            // Mid-response: the client sees the connection close; the log and metrics say why.
            core.metrics.upstreamError(route: route.id, kind: "timeout")
            core.logger.warning(
                "upstream stalled mid-response",
                metadata: ["route": .string(route.id), "request_id": .string(leg.request.requestID)]
            )
        }
        perform(machine.timedOut())
    }

    // MARK: Client actions

    private func client(_ action: ProxyStateMachine.ClientAction) {
        guard let context else { return }
        switch action {
        case .admit(let head):
            admit(head, context: context)
        case .writeContinue:
            // No 1xx to an HTTP/1.0 client (RFC 9110 15.2): it sends its body without waiting.
            guard leg?.request.head.version.minor != 0 else { return }
            context.writeAndFlush(wrapOutboundOut(ResponseWriter.continueHead), promise: nil)
        case .writeHead(let closeAfter):
            guard let leg, let upstream = pendingHead, let forwarding = leg.forwarding else { return }
            let http10 = leg.request.head.version.minor == 0
            let head = responseHeads.write { buffer in
                upstream.bytes.withUnsafeReadableBytes { raw in
                    let parsed = upstream.parsed
                    response.startHead(into: &buffer, http10: http10, status: parsed.status, reason: UnsafeRawBufferPointer(rebasing: raw[parsed.reason]))
                    HeaderRules.forEachDownstreamField(in: raw, fields: parsed.fields) { field in
                        let name = UnsafeRawBufferPointer(rebasing: raw[field.name])
                        // The gateway sets its own request id, and writes the length as one number
                        // (an upstream may repeat it, or list it, which strict clients refuse).
                        if HeaderRules.equalsIgnoringCase(bytes: name, "x-request-id") || HeaderRules.equalsIgnoringCase(bytes: name, "content-length") {
                            return
                        }
                        response.field(into: &buffer, name: name, value: UnsafeRawBufferPointer(rebasing: raw[field.value]))
                    }
                }
                if let length = upstream.parsed.contentLength { response.field(into: &buffer, "Content-Length", String(length)) }
                forwarding.limitHeaders?.forEach { response.field(into: &buffer, $0, $1) }
                response.field(into: &buffer, "X-Request-Id", leg.request.requestID)
                response.endHead(into: &buffer, answersHead: leg.request.head.method == .HEAD, connection: closeAfter ? "close" : http10 ? "keep-alive" : nil)
            }
            context.write(wrapOutboundOut(head), promise: nil)
            account(leg, status: upstream.parsed.status)
        case .writeBody(let buffer):
            response.body(buffer, allocator: context.channel.allocator) { context.write(wrapOutboundOut($0), promise: nil) }
            if !context.channel.isWritable {
                // Over the high-water mark before the batch ends: send now. Upstream reads pause
                // only if the socket is really full; channelWritabilityChanged resumes them.
                context.flush()
                if !context.channel.isWritable { leg?.connection?.holdReads() }
            }
        case .writeEnd:
            // The upstream connection goes back to the pool now, so its read batch cannot flush this.
            if let last = response.end() { context.write(wrapOutboundOut(last), promise: nil) }
            pool.flushAtEndOfPass(self)
        case .respond(let answer, let closeAfter):
            guard let leg else { return }
            var response = localResponse(answer, leg: leg)
            response.headers[.xRequestID] = leg.request.requestID
            account(leg, status: Int(response.status.code))
            write(response, context: context, closeAfter: closeAfter, version: leg.request.head.version, head: leg.request.head.method == .HEAD)
        case .sendRefusal:
            guard let response = refusal else { return }
            write(response, context: context, closeAfter: true, version: .http1_1, head: false)
        }
    }

    private func admit(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        var request = GatewayCore.RequestInfo(head: head, peer: peer, ids: &ids, traces: &traces)
        // Only with an OTLP exporter: a recorded span, whose ids replace the ones drawn above.
        let span = core.tracer.map { request.startSpan($0) }
        let leg = Leg(request: request)
        leg.span = span
        self.leg = leg
        proceed(leg, admission: core.admit(request, trace: &leg.trace, memo: &tokenMemo, snapshot: &snapshot))
    }

    private func proceed(_ leg: Leg, admission: GatewayCore.Admission) {
        switch admission {
        case .respond(let response):
            leg.local = response
            perform(machine.admitted(.respond(close: response.close)))
        case .forward(let forwarding):
            leg.forwarding = forwarding
            perform(machine.admitted(.forward(bodyLimit: forwarding.bodyLimit)))
        case .needsKeys(let pending):
            perform(machine.admitted(.pending))
            guard let loop = context?.eventLoop else { return }
            let core = self.core
            let bound = NIOLoopBound(self, eventLoop: loop)
            let promise = loop.makePromise(of: (GatewayCore.Admission, GatewayCore.AccessTrace).self)
            let trace = leg.trace
            promise.completeWithTask {
                var trace = trace
                let admission = await core.admit(after: pending, trace: &trace)
                return (admission, trace)
            }
            promise.futureResult.assumeIsolated().whenSuccess { [leg] admission, trace in
                let handler = bound.value
                guard handler.leg === leg else {
                    if case .forward(let forwarding) = admission { forwarding.route.breaker?.release(generation: forwarding.breakerGeneration) }
                    return
                }
                leg.trace = trace
                handler.proceed(leg, admission: admission)
            }
        }
    }

    private func localResponse(_ answer: ProxyStateMachine.Answer, leg: Leg) -> GatewayCore.LocalResponse {
        let requestID = leg.request.requestID
        let route = leg.forwarding?.route
        let routeID = route?.id ?? leg.trace.route
        var response: GatewayCore.LocalResponse
        switch answer {
        case .admission:
            return leg.local ?? GatewayCore.LocalResponse(.badRequest("the request could not be admitted"), requestID: requestID)
        case .bodyTooLarge(let limit):
            return GatewayCore.LocalResponse(.payloadTooLarge(limit: limit), requestID: requestID, close: true)
        case .requestTimeout:
            return GatewayCore.LocalResponse(
                APIError(.requestTimeout, "request_timeout", "the request was not received in time"), requestID: requestID, close: true
            )
        case .upstreamTimeout:
            core.metrics.upstreamError(route: routeID, kind: "timeout")
            let timeout = route.map { GatewayCore.milliseconds($0.settings.timeout) } ?? 0
            response = GatewayCore.LocalResponse(
                APIError(.gatewayTimeout, "upstream_timeout", "route '\(routeID)': the upstream did not answer within \(timeout) ms"), requestID: requestID
            )
        case .upstreamUnreachable:
            response = GatewayCore.LocalResponse(
                APIError(.badGateway, "bad_gateway", "route '\(routeID)': cannot connect to the upstream"), requestID: requestID
            )
        case .upstreamReset:
            response = GatewayCore.LocalResponse(
                APIError(.badGateway, "bad_gateway", "route '\(routeID)': the upstream closed the connection without a full response"),
                requestID: requestID
            )
        }
        if let forwarding = leg.forwarding { GatewayCore.add(forwarding.limitHeaders, to: &response.headers) }
        return response
    }

    private func write(_ local: GatewayCore.LocalResponse, context: ChannelHandlerContext, closeAfter: Bool, version: HTTPVersion, head: Bool) {
        let http10 = version.minor == 0
        let connection: StaticString? = closeAfter ? "close" : http10 ? "keep-alive" : nil
        var buffer = context.channel.allocator.buffer(capacity: 256 + local.body.readableBytes)
        response.startHead(into: &buffer, http10: http10, status: local.status.code, reason: local.status.reasonPhrase)
        for header in local.headers {
            let name = header.name.rawName
            // The gateway frames the body, and says itself whether the connection stays.
            if HeaderRules.equalsIgnoringCase(name, "content-length") || HeaderRules.equalsIgnoringCase(name, "transfer-encoding") { continue }
            if connection != nil, HeaderRules.equalsIgnoringCase(name, "connection") { continue }
            response.field(into: &buffer, name, header.value)
        }
        response.field(into: &buffer, "Content-Length", String(local.body.readableBytes))
        response.endHead(into: &buffer, answersHead: head, connection: connection)
        if !response.suppressed { buffer.writeImmutableBuffer(local.body) }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func account(_ leg: Leg, status: Int) {
        guard !leg.accounted else { return }
        leg.accounted = true
        core.record(leg.request, status: status, started: leg.started, trace: leg.trace, cache: &metricsCache, statusCache: &statusCache)
        if let span = leg.span {
            leg.span = nil
            GatewayCore.end(span, request: leg.request, status: status, trace: leg.trace)
        }
    }
}

/// The request being answered, as the handler needs it to act: admission's result, the borrowed
/// upstream connection, the timer. Touched only on the connection's event loop.
final class Leg {
    let request: GatewayCore.RequestInfo
    let started = ContinuousClock.now
    var trace = GatewayCore.AccessTrace()
    var forwarding: GatewayCore.Forwarding?
    /// The answer admission decided on, when it is not forwarding.
    var local: GatewayCore.LocalResponse?
    var connection: UpstreamConnection?
    /// The upstream's status, once its head has arrived.
    var upstreamStatus: Int?
    var upstreamStarted = ContinuousClock.now
    var lastUpstreamActivity = ContinuousClock.now
    /// The route's timeout while the upstream owes an answer (nil when nothing is owed).
    var timeout: Duration?
    /// The request body goes upstream in chunks (the client sent it so).
    var chunkedUpload = false
    /// Registered with the pool's timeout sweep.
    var watched = false
    /// The machine gave the upstream up; a connection that arrives late goes back to the pool.
    var abandoned = false
    var accounted = false
    /// The request's exported span (with an OTLP exporter only); ended once, when it is accounted.
    var span: (any Span)?

    init(request: GatewayCore.RequestInfo) {
        self.request = request
    }

    deinit {
        span?.end()  // a request given up before it was answered (the client went away)
    }
}
