import GatewayConfig
import GatewayHeaders
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Keep-alive connections to upstreams, for one event loop: a client connection borrows an
/// upstream connection on its own loop, so a proxied request never changes threads.
///
/// Per upstream (host, port, TLS) the pool keeps idle connections (the most recently used first,
/// so the rest age out), opens at most `limit` at once and queues callers beyond that in arrival
/// order. Connections idle for `idleTimeout` close. Everything here runs on `loop`; the class is
/// Sendable only so that the gateway's shared state can hold one pool per loop.
final class UpstreamPool: @unchecked Sendable {
    struct Key: Hashable {
        var host: String
        var port: Int
        var tls: Bool

        init(_ upstream: Upstream) {
            (host, port, tls) = (upstream.host, upstream.port, upstream.usesTLS)
        }

        init(host: String, port: Int, tls: Bool) {
            (self.host, self.port, self.tls) = (host, port, tls)
        }
    }

    typealias Waiter = (Result<UpstreamConnection, any Error>) -> Void

    private final class Slot {
        var idle: [UpstreamConnection] = []
        var open = 0
        var waiters = CircularBuffer<Waiter>()
    }

    let loop: any EventLoop
    private let limit: Int
    private let connectTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let tlsContext: NIOSSLContext?
    private var slots: [Key: Slot] = [:]
    private var shutDown = false
    private var flushQueue: [any DeferredFlush] = []
    /// The previous pass's queue, kept for its storage.
    private var flushing: [any DeferredFlush] = []
    private var flushScheduled = false

    init(loop: any EventLoop, limit: Int, connectTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.loop = loop
        self.limit = max(1, limit)
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.tlsContext = try? NIOSSLContext(configuration: .makeClientConfiguration())
    }

    /// An idle, open connection to `key`, if there is one.
    func takeIdle(_ key: Key) -> UpstreamConnection? {
        loop.assertInEventLoop()
        guard let slot = slots[key] else { return nil }
        while let connection = slot.idle.popLast() {
            if connection.isUsable { return connection }
        }
        return nil
    }

    /// Opens a new connection to `key` for `waiter`, or queues the waiter until a connection is
    /// released when `limit` are open already. The waiter is called on `loop`.
    func connect(_ key: Key, waiter: @escaping Waiter) {
        loop.assertInEventLoop()
        guard !shutDown else {
            waiter(.failure(ChannelError.ioOnClosedChannel))
            return
        }
        let slot = slot(key)
        guard slot.open < limit else {
            slot.waiters.append(waiter)
            return
        }
        open(key, slot: slot, waiter: waiter)
    }

    private func open(_ key: Key, slot: Slot, waiter: @escaping Waiter) {
        guard !key.tls || tlsContext != nil else {
            // Never fall back to plain text for an https upstream.
            waiter(.failure(TLSUnavailable()))
            return
        }
        slot.open += 1
        let tls = key.tls ? tlsContext : nil
        // SNI carries host names only, never an address.
        let serverName = (try? SocketAddress(ipAddress: key.host, port: 0)) == nil ? key.host : nil
        let idle = idleTimeout
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    // The gateway writes requests as bytes, framed as the client sent them, from
                    // RequestBytes' place, and parses responses itself (ResponseParser).
                    let bottom = RequestBytes()
                    try sync.addHandler(bottom)
                    // Reads only: a write timeout would attach a promise to every write.
                    try sync.addHandler(IdleStateHandler(readTimeout: idle))
                    try sync.addHandler(UpstreamConnection(bottom: bottom))
                }
            }
        let loop = self.loop
        bootstrap.connect(host: key.host, port: key.port).assumeIsolated().whenComplete { result in
            loop.assertInEventLoop()
            switch result {
            case .success(let channel):
                guard let connection = try? channel.pipeline.syncOperations.handler(type: UpstreamConnection.self) else {
                    channel.close(promise: nil)
                    self.closed(key)
                    waiter(.failure(ChannelError.inappropriateOperationForState))
                    return
                }
                connection.attach(key: key)
                channel.closeFuture.assumeIsolated().whenComplete { _ in self.closed(key, connection) }
                waiter(.success(connection))
            case .failure(let error):
                self.closed(key)
                waiter(.failure(error))
            }
        }
    }

    /// Gives a connection back after a request. One that cannot carry another request (the
    /// upstream said close, or the exchange ended early) is closed; a usable one goes to the first
    /// queued caller, or waits idle.
    func release(_ connection: UpstreamConnection, reusable: Bool) {
        loop.assertInEventLoop()
        connection.owner = nil
        connection.resumeReads()
        guard reusable, !shutDown, connection.isUsable, let slot = slots[connection.key] else {
            connection.close()
            return
        }
        if let waiter = slot.waiters.popFirst() {
            waiter(.success(connection))
            return
        }
        slot.idle.append(connection)
    }

    /// A connection closed (or never opened): its place may go to a queued caller.
    private func closed(_ key: Key, _ connection: UpstreamConnection? = nil) {
        guard let slot = slots[key] else { return }
        slot.open -= 1
        if let connection, let index = slot.idle.firstIndex(where: { $0 === connection }) {
            slot.idle.remove(at: index)
        }
        if !shutDown, slot.open < limit, let waiter = slot.waiters.popFirst() {
            open(key, slot: slot, waiter: waiter)
        } else if slot.open == 0, slot.waiters.isEmpty {
            slots[key] = nil
        }
    }

    private func slot(_ key: Key) -> Slot {
        if let slot = slots[key] { return slot }
        let slot = Slot()
        slots[key] = slot
        return slot
    }

    // MARK: Upstream timeouts

    /// Requests waiting for their upstream on this loop. One repeating check (while any wait)
    /// replaces a scheduled task per request: no timer to allocate, cancel and re-arm each time.
    private var waiting: [(leg: Leg, handler: ProxyChannelHandler)] = []
    private var sweeper: RepeatedTask?
    static let sweepInterval = TimeAmount.milliseconds(25)

    /// Watches `leg` until it is disarmed: when its upstream has been quiet for the route's
    /// timeout, `handler` hears of it.
    func watch(_ leg: Leg, handler: ProxyChannelHandler) {
        loop.assertInEventLoop()
        guard !leg.watched else { return }
        leg.watched = true
        waiting.append((leg, handler))
        if sweeper == nil {
            sweeper = loop.scheduleRepeatedTask(initialDelay: Self.sweepInterval, delay: Self.sweepInterval) { [self] task in
                sweep(task)
            }
        }
    }

    private func sweep(_ task: RepeatedTask) {
        let now = ContinuousClock.now
        var due: [(leg: Leg, handler: ProxyChannelHandler)] = []
        waiting.removeAll { entry in
            let leg = entry.leg
            guard let timeout = leg.timeout else {
                leg.watched = false
                return true
            }
            guard now - leg.lastUpstreamActivity >= timeout else { return false }
            leg.watched = false
            due.append(entry)
            return true
        }
        if waiting.isEmpty {
            task.cancel()
            sweeper = nil
        }
        for (leg, handler) in due {
            handler.upstreamTimedOut(leg)
        }
    }

    /// Flushes `target` when the event loop finishes its current pass over ready sockets, with
    /// every other flush asked for in that pass (the idea of Netty's FlushConsolidationHandler).
    /// A peer (a client, an upstream) is then woken once per pass rather than once per message,
    /// so under load this process is preempted far less often; each socket still gets one write.
    func flushAtEndOfPass(_ target: any DeferredFlush) {
        flushQueue.append(target)
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.execute { [self] in
            flushScheduled = false
            swap(&flushQueue, &flushing)
            for target in flushing { target.flushNow() }
            flushing.removeAll(keepingCapacity: true)
        }
    }

    /// Closes every idle connection and refuses new ones (at shutdown, after the server drained).
    func shutdown() {
        loop.assertInEventLoop()
        shutDown = true
        for slot in slots.values {
            for connection in slot.idle { connection.close() }
            slot.idle.removeAll()
            while let waiter = slot.waiters.popFirst() { waiter(.failure(ChannelError.ioOnClosedChannel)) }
        }
    }
}

/// A connection whose writes can wait for ``UpstreamPool/flushAtEndOfPass(_:)``; used on its loop only.
protocol DeferredFlush: AnyObject {
    func flushNow()
}

/// OpenSSL's client context could not be made, so https upstreams cannot be reached.
struct TLSUnavailable: Error {}

/// A part of an upstream's response, as ``UpstreamConnection`` hands it to the client connection.
enum UpstreamPart {
    case head(UpstreamHead)
    /// Body bytes, chunk framing removed.
    case body(ByteBuffer)
    case end
}

/// A response head as the upstream sent it: the bytes, and where ``ResponseParser`` found the
/// status, reason and fields in them (offsets from the reader index).
struct UpstreamHead {
    var bytes: ByteBuffer
    var parsed: ResponseParser.Head
}

/// One upstream connection: requests go out as bytes from ``RequestBytes`` at the bottom of the
/// pipeline, and responses are parsed here from the bytes that arrive (``ResponseParser``: no
/// strings, no header lists). While a client connection borrows it (`owner`), every response part
/// goes to that connection's handler; while it sits idle in the pool, anything the upstream sends
/// or a close just ends it.
final class UpstreamConnection: ChannelDuplexHandler, RemovableChannelHandler, DeferredFlush {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?
    private let bottom: RequestBytes
    private var parser = ResponseParser()
    /// Bytes the parser could not use yet (a head cut by the read), given again with the next read.
    private var pending: ByteBuffer?
    /// The events of one read, kept for their storage.
    private var events: [ResponseParser.Event] = []
    private(set) var key = UpstreamPool.Key(host: "", port: 0, tls: false)
    /// The client connection's handler using this connection now.
    var owner: ProxyChannelHandler?
    /// Requests answered on this connection so far (a reused connection may have been closed by
    /// the upstream while idle; a fresh one says something about the upstream).
    var completed = 0
    private var readsHeld = false
    private var readPending = false
    /// The upstream sent something the parser refused: the connection goes back to no one.
    private var broken = false

    init(bottom: RequestBytes) {
        self.bottom = bottom
    }

    var isUsable: Bool { !broken && context?.channel.isActive ?? false }
    var isWritable: Bool { context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard owner != nil else {
            // Nobody asked: an idle connection must not talk.
            context.close(promise: nil)
            return
        }
        var input = unwrapInboundIn(data)
        if var earlier = pending.take() {
            earlier.writeBuffer(&input)
            input = earlier
        }
        // Parse first, then hand the events on: the owner may send the next request on this
        // connection while it handles them, and the parser must not be in the middle of a call.
        var events = self.events
        self.events = []
        var failure: ResponseParser.ParseError?
        let consumed = input.withUnsafeReadableBytes { raw in
            do throws(ResponseParser.ParseError) {
                return try parser.parse(raw) { events.append($0) }
            } catch {
                failure = error
                return raw.count
            }
        }
        if consumed < input.readableBytes {
            pending = input.getSlice(at: input.readerIndex + consumed, length: input.readableBytes - consumed)
        }
        // Refused bytes after a complete response (a body on a HEAD answer, more than the
        // length): that response still goes to its client, but the connection must not be
        // lent to the next request, which would then be blamed for them.
        if failure != nil { broken = true }
        deliver(events, from: input)
        events.removeAll(keepingCapacity: true)
        self.events = events
        if let failure { fail(failure, context: context) }
    }

    /// Hands parsed events to the owner; offsets count from `input`'s reader index.
    private func deliver(_ events: [ResponseParser.Event], from input: ByteBuffer) {
        for event in events {
            guard let owner else { return }
            switch event {
            case .head(let head):
                owner.upstreamRead(.head(UpstreamHead(bytes: input, parsed: head)), from: self)
            case .body(let range):
                guard let slice = input.getSlice(at: input.readerIndex + range.lowerBound, length: range.count) else { return }
                owner.upstreamRead(.body(slice), from: self)
            case .end:
                owner.upstreamRead(.end, from: self)
            }
        }
    }

    /// A response the parser refused (or a close mid-response): the owner hears of it, and the
    /// connection is not used again.
    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        let owner = self.owner
        self.owner = nil
        owner?.upstreamClosed(error, from: self)
        context.close(promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        owner?.upstreamReadComplete(from: self)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A body that runs until the close ends here; a response cut short is an error.
        var ended = false
        var truncated: ResponseParser.ParseError?
        do throws(ResponseParser.ParseError) {
            try parser.finish { if case .end = $0 { ended = true } }
        } catch {
            truncated = error
        }
        if ended { owner?.upstreamRead(.end, from: self) }
        let owner = self.owner
        self.owner = nil
        owner?.upstreamClosed(truncated, from: self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let owner = self.owner
        self.owner = nil
        owner?.upstreamClosed(error, from: self)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        owner?.upstreamWritabilityChanged(from: self)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            // Idle in the pool for too long; a connection in use has its route's timeout instead.
            if owner == nil { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        if readsHeld {
            readPending = true
        } else {
            context.read()
        }
    }

    // MARK: Used by the pool and the client connection's handler (on this connection's loop)

    func attach(key: UpstreamPool.Key) {
        self.key = key
    }

    /// Sends a request head written as bytes; its response is due next.
    func writeHead(_ bytes: ByteBuffer, method: HTTPMethod) {
        guard let out = bottom.context else { return }
        parser.expectResponse(toHEAD: method == .HEAD)
        out.write(NIOAny(bytes), promise: nil)
    }

    func writeBody(_ data: ByteBuffer, chunked: Bool) {
        guard let out = bottom.context else { return }
        ChunkedBody.write(data, chunked: chunked, allocator: out.channel.allocator) { out.write(NIOAny($0), promise: nil) }
    }

    func writeEnd(chunked: Bool) {
        guard chunked, let out = bottom.context else { return }
        out.write(NIOAny(ChunkedBody.last), promise: nil)
    }

    func flush() {
        bottom.context?.flush()
    }

    func flushNow() {
        bottom.context?.flush()
    }

    /// Stops reading the upstream while the client cannot take more (backpressure).
    func holdReads() {
        readsHeld = true
    }

    func resumeReads() {
        guard readsHeld else { return }
        readsHeld = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    func close() {
        owner = nil
        context?.close(promise: nil)
    }
}
