import NIOCore
import NIOHTTP1

/// Everything that can happen on one client connection of the gateway, as a value without I/O.
///
/// The connection answers one request at a time, in order (HTTP/1.1 pipelining): parts of later
/// requests wait in a backlog. For the request being answered it tracks four things, each an enum:
/// how far the client's request has come in, what happens to its body (held until the upstream is
/// ready, streamed, or dropped), how far the response has gone out, and the upstream connection's
/// part. Every event returns a ``Step``: what the handler must do, in a fixed order (settle the
/// breaker permit, act on the upstream, write to the client, the timer, reads, the connection).
/// ``ProxyChannelHandler`` performs the steps; the unit tests drive this type alone.
struct ProxyStateMachine {
    enum Request: Equatable {
        case receiving
        case complete
    }

    enum Body: Equatable {
        /// Admission or the upstream connection is not ready yet; client reads are held meanwhile.
        case holding([ByteBuffer])
        case streaming
        /// Answered without the body (or the upstream stopped wanting it): read and dropped.
        case discarding
    }

    enum Response: Equatable {
        case waiting
        /// The upstream's head went out; its body follows.
        case relaying
        case complete
    }

    enum Upstream: Equatable {
        case none
        case acquiring
        case attached(reused: Bool)
        case finished
    }

    struct Exchange: Equatable {
        var request = Request.receiving
        var body = Body.holding([])
        var response = Response.waiting
        var upstream = Upstream.none
        var keepAlive: Bool
        var hasBody: Bool
        var idempotent: Bool
        var expectsContinue: Bool
        var bodyBytes = 0
        var bodyLimit: Int?
        /// A circuit-breaker permit is held and not yet settled: settled exactly once.
        var permit = false
        var retried = false
        /// The whole request, end included, went to the upstream connection.
        var requestSent = false
        var upstreamKeepAlive = true

        /// Gives the exchange up: a held breaker permit is released (the outcome says nothing
        /// about the upstream) and an upstream being acquired or used is abandoned.
        mutating func abandon(into step: inout Step) {
            if permit {
                permit = false
                step.settle = .release
            }
            switch upstream {
            case .acquiring, .attached:
                step.upstream = .abandon
                upstream = .finished
            case .none, .finished:
                break
            }
        }
    }

    /// How the breaker permit is settled.
    enum Settlement: Equatable {
        case success
        case failure
        /// The call says nothing about the upstream (the client left, the gateway refused the body).
        case release
    }

    enum UpstreamAction: Equatable {
        /// Get a connection (a fresh one: not from the idle pool), then report ``attached(reused:)``
        /// or ``connectFailed(alternativeAvailable:)``.
        case acquire(fresh: Bool)
        /// Send the head, the body parts held so far and, when `end`, the end.
        case send(body: [ByteBuffer], end: Bool)
        case sendBody(ByteBuffer)
        case sendEnd
        /// The exchange is done with the connection; a reusable one goes back to the pool.
        case release(reusable: Bool)
        /// Close the connection, or drop the pending acquisition.
        case abandon
    }

    enum Answer: Equatable {
        /// The response admission decided (a refusal or a built-in endpoint).
        case admission
        case bodyTooLarge(limit: Int)
        case requestTimeout
        case upstreamTimeout
        case upstreamUnreachable
        case upstreamReset
    }

    enum ClientAction: Equatable {
        /// Run admission for this head (routing, auth, limits), then report ``admitted(_:)``.
        case admit(HTTPRequestHead)
        case writeContinue
        /// The upstream's response head, with `Connection: close` when `closeAfter`.
        case writeHead(closeAfter: Bool)
        case writeBody(ByteBuffer)
        case writeEnd
        case respond(Answer, closeAfter: Bool)
        /// The answer to a request the HTTP decoder refused.
        case sendRefusal
    }

    enum Timer: Equatable {
        /// The upstream now owes an answer: the route's timeout runs (reset by every upstream read).
        case arm
        case disarm
    }

    enum Reads: Equatable {
        case hold
        case resume
    }

    enum ConnectionAction: Equatable {
        case close
        /// Close after a short while, reading and dropping what the client still sends, so that it
        /// sees the answer instead of a reset (nginx's lingering close).
        case lingerThenClose
    }

    struct Step: Equatable {
        var settle: Settlement?
        var upstream: UpstreamAction?
        var client: ClientAction?
        var timer: Timer?
        var reads: Reads?
        var connection: ConnectionAction?
        /// More can be done at once: call ``next()`` and perform its step too.
        var replay = false
    }

    enum Admission: Equatable {
        case forward(bodyLimit: Int)
        case respond(close: Bool)
        /// Admission needs to wait (for signing keys); body parts are held meanwhile.
        case pending
    }

    private(set) var exchange: Exchange?
    private var backlog = CircularBuffer<HTTPServerRequestPart>()
    private(set) var inputClosed = false
    private(set) var quiescing = false
    private var refusal = Refusal.none
    /// How much of a refused body is read and dropped before the connection is cut anyway.
    static let lingerLimit = 64 << 20

    private enum Refusal {
        case none
        case pending
        case sent
    }

    var isIdle: Bool { exchange == nil && backlog.isEmpty }

    // MARK: Client events

    mutating func received(_ part: HTTPServerRequestPart) -> Step {
        guard refusal == .none else { return Step() }
        switch part {
        case .head(let head):
            guard exchange == nil, backlog.isEmpty else {
                backlog.append(part)
                return Step(reads: .hold)
            }
            return start(head)
        case .body(let buffer):
            guard exchange?.request == .receiving, backlog.isEmpty else {
                backlog.append(part)
                return Step(reads: .hold)
            }
            return body(buffer)
        case .end:
            guard exchange?.request == .receiving, backlog.isEmpty else {
                backlog.append(part)
                return Step(reads: .hold)
            }
            return end()
        }
    }

    private mutating func start(_ head: HTTPRequestHead) -> Step {
        let contentLength = head.headers.first(name: "content-length")
        let hasBody = contentLength.map { $0 != "0" } ?? head.headers.contains(name: "transfer-encoding")
        let idempotent: Bool
        switch head.method {
        case .GET, .HEAD, .OPTIONS, .PUT, .DELETE: idempotent = true
        default: idempotent = false
        }
        let expects = head.headers[canonicalForm: "expect"].contains { $0.lowercased() == "100-continue" }
        exchange = Exchange(keepAlive: head.isKeepAlive && !quiescing, hasBody: hasBody, idempotent: idempotent, expectsContinue: expects && hasBody)
        return Step(client: .admit(head))
    }

    private mutating func body(_ buffer: ByteBuffer) -> Step {
        guard var exchange else { return Step() }
        let (sum, overflow) = exchange.bodyBytes.addingReportingOverflow(buffer.readableBytes)
        exchange.bodyBytes = overflow ? .max : sum
        if let limit = exchange.bodyLimit, exchange.bodyBytes > limit, exchange.body != .discarding {
            self.exchange = exchange
            return bodyTooLarge(limit: limit)
        }
        var step = Step()
        switch exchange.body {
        case .holding(var parts):
            parts.append(buffer)
            exchange.body = .holding(parts)
            step.reads = .hold
        case .streaming:
            step.upstream = .sendBody(buffer)
        case .discarding:
            if !exchange.keepAlive && exchange.bodyBytes > Self.lingerLimit { step.connection = .close }
        }
        self.exchange = exchange
        return step
    }

    private mutating func end() -> Step {
        guard var exchange else { return Step() }
        exchange.request = .complete
        var step = Step()
        if case .streaming = exchange.body {
            step.upstream = .sendEnd
            step.timer = .arm
            exchange.requestSent = true
        }
        self.exchange = exchange
        finishIfDone(&step)
        return step
    }

    private mutating func bodyTooLarge(limit: Int) -> Step {
        guard var exchange else { return Step() }
        exchange.body = .discarding
        exchange.keepAlive = false
        var step = Step()
        exchange.abandon(into: &step)
        switch exchange.response {
        case .waiting:
            exchange.response = .complete
            step.client = .respond(.bodyTooLarge(limit: limit), closeAfter: true)
            step.timer = .disarm
            step.reads = .resume
            step.connection = .lingerThenClose
        case .relaying:
            // The head is out: cutting the connection is the only way left to say it.
            exchange.response = .complete
            step.connection = .close
        case .complete:
            step.connection = .lingerThenClose
        }
        self.exchange = exchange
        return step
    }

    /// The client closed its sending side: it reads what it asked for, then the connection closes.
    mutating func inputEnded() -> Step {
        inputClosed = true
        if isIdle && refusal != .pending { return Step(connection: .close) }
        return Step()
    }

    /// The connection closed. The request being answered is dropped.
    mutating func closed() -> Step {
        backlog.removeAll()
        guard var exchange else { return Step() }
        self.exchange = nil
        var step = Step(timer: .disarm)
        exchange.abandon(into: &step)
        return step
    }

    /// Graceful shutdown: finish the request being answered, then close.
    mutating func quiesce() -> Step {
        quiescing = true
        return exchange == nil ? Step(connection: .close) : Step()
    }

    /// Nothing was read from the client for the idle timeout.
    mutating func idleTimeout() -> Step {
        guard var exchange else { return Step(connection: .close) }
        guard exchange.request == .receiving else {
            // Waiting for the upstream, which has its own timeout.
            return Step()
        }
        guard exchange.response == .waiting else { return Step(connection: .close) }
        var step = Step(timer: .disarm, connection: .close)
        exchange.abandon(into: &step)
        exchange.upstream = .finished
        exchange.response = .complete
        exchange.keepAlive = false
        step.client = .respond(.requestTimeout, closeAfter: true)
        self.exchange = exchange
        return step
    }

    /// The HTTP decoder refused what the client sent. The refusal is answered after the requests
    /// before it; a request broken in the middle of its body just closes the connection.
    mutating func decoderFailed() -> Step {
        guard refusal == .none else { return Step() }
        if exchange?.request == .receiving {
            refusal = .sent
            return Step(connection: .close)
        }
        refusal = .pending
        return refusalIfDue() ?? Step()
    }

    private mutating func refusalIfDue() -> Step? {
        guard refusal == .pending, isIdle else { return nil }
        refusal = .sent
        return Step(client: .sendRefusal, reads: .resume, connection: inputClosed ? .close : .lingerThenClose)
    }

    // MARK: Admission

    mutating func admitted(_ admission: Admission) -> Step {
        guard var exchange, exchange.response == .waiting, exchange.upstream == .none else { return Step() }
        switch admission {
        case .pending:
            return Step(reads: .hold)
        case .respond(let close):
            if close { exchange.keepAlive = false }
            self.exchange = exchange
            return respond(.admission)
        case .forward(let limit):
            exchange.permit = true
            exchange.bodyLimit = limit
            self.exchange = exchange
            if exchange.bodyBytes > limit { return bodyTooLarge(limit: limit) }
            exchange.upstream = .acquiring
            self.exchange = exchange
            var step = Step(upstream: .acquire(fresh: false))
            if exchange.expectsContinue && exchange.request == .receiving { step.client = .writeContinue }
            return step
        }
    }

    /// Answers locally; the upstream (if any) is given up, a body still coming is dropped.
    private mutating func respond(_ answer: Answer) -> Step {
        guard var exchange else { return Step() }
        var step = Step(timer: .disarm, reads: .resume)
        switch exchange.upstream {
        case .acquiring, .attached: step.upstream = .abandon
        case .none, .finished: break
        }
        exchange.upstream = .finished
        exchange.response = .complete
        if exchange.request == .receiving {
            exchange.body = .discarding
            // A client waiting for 100 Continue will not send the body it announced.
            if exchange.expectsContinue { exchange.keepAlive = false }
            if !exchange.keepAlive { step.connection = .lingerThenClose }
        }
        step.client = .respond(answer, closeAfter: !exchange.keepAlive || quiescing)
        self.exchange = exchange
        finishIfDone(&step)
        return step
    }

    // MARK: Upstream events

    mutating func attached(reused: Bool) -> Step {
        guard var exchange, exchange.upstream == .acquiring, exchange.response == .waiting else {
            // The exchange ended while the connection was on its way: it is not needed.
            return Step(upstream: .release(reusable: true))
        }
        exchange.upstream = .attached(reused: reused)
        var step = Step(reads: .resume)
        switch exchange.body {
        case .holding(let parts):
            let end = exchange.request == .complete
            step.upstream = .send(body: parts, end: end)
            exchange.body = .streaming
            exchange.requestSent = end
            if end { step.timer = .arm }
        case .streaming, .discarding:
            // A retry: only requests without a body are retried, and they were complete.
            step.upstream = .send(body: [], end: true)
            exchange.requestSent = true
            step.timer = .arm
        }
        self.exchange = exchange
        return step
    }

    mutating func connectFailed(alternativeAvailable: Bool) -> Step {
        guard var exchange, exchange.upstream == .acquiring, exchange.response == .waiting else { return Step() }
        // Nothing was sent, so a request without a body may try another instance once.
        if alternativeAvailable && !exchange.hasBody && !exchange.retried {
            exchange.retried = true
            self.exchange = exchange
            return Step(upstream: .acquire(fresh: true))
        }
        let settlement = settle(.failure)
        exchange.upstream = .finished
        self.exchange = exchange
        var step = respond(.upstreamUnreachable)
        step.settle = settlement
        return step
    }

    /// - Parameter delimitedByClose: the response has no length and the client cannot take chunks
    ///   (HTTP/1.0): its end is the connection's end.
    mutating func upstreamHead(status: Int, keepAlive: Bool, delimitedByClose: Bool) -> Step {
        guard let current = exchange, case .attached = current.upstream, current.response == .waiting else { return Step() }
        var step = Step()
        step.settle = settle(status >= 500 ? .failure : .success)
        guard var exchange = self.exchange else { return step }
        exchange.response = .relaying
        exchange.upstreamKeepAlive = keepAlive
        if delimitedByClose { exchange.keepAlive = false }
        if exchange.request == .receiving {
            // The upstream answered before the whole body (an early 413, say): the rest is read and
            // dropped, and neither connection can carry another request.
            exchange.body = .discarding
            exchange.keepAlive = false
            exchange.upstreamKeepAlive = false
            step.reads = .resume
        }
        step.client = .writeHead(closeAfter: !exchange.keepAlive || quiescing)
        self.exchange = exchange
        return step
    }

    mutating func upstreamBody(_ buffer: ByteBuffer) -> Step {
        guard exchange?.response == .relaying else { return Step() }
        return Step(client: .writeBody(buffer))
    }

    mutating func upstreamEnd() -> Step {
        guard var exchange, exchange.response == .relaying else { return Step() }
        exchange.response = .complete
        exchange.upstream = .finished
        var step = Step(
            upstream: .release(reusable: exchange.upstreamKeepAlive && exchange.requestSent), client: .writeEnd, timer: .disarm
        )
        if exchange.request == .receiving { step.connection = .lingerThenClose }
        self.exchange = exchange
        finishIfDone(&step)
        return step
    }

    /// The upstream connection closed or failed before the response ended.
    /// - Parameter answered: the upstream did answer, with something unusable (a malformed
    ///   response), so it was not a kept-alive connection closed meanwhile: no retry.
    mutating func upstreamFailed(answered: Bool = false) -> Step {
        guard var exchange, case .attached(let reused) = exchange.upstream else { return Step() }
        exchange.upstream = .finished
        switch exchange.response {
        case .waiting:
            // A kept-alive connection the upstream had closed meanwhile: a request without a body
            // that is safe to repeat goes once more, on a new connection.
            if reused && !answered && exchange.idempotent && !exchange.hasBody && !exchange.retried {
                exchange.retried = true
                exchange.upstream = .acquiring
                self.exchange = exchange
                return Step(upstream: .acquire(fresh: true), timer: .disarm)
            }
            self.exchange = exchange
            let settlement = settle(.failure)
            var step = respond(.upstreamReset)
            step.settle = settlement
            if exchange.hasBody && exchange.request == .receiving { step.connection = .lingerThenClose }
            return step
        case .relaying:
            // The head is out; cutting the connection is how the client learns of the truncation.
            exchange.response = .complete
            exchange.keepAlive = false
            self.exchange = exchange
            return Step(timer: .disarm, connection: .close)
        case .complete:
            self.exchange = exchange
            return Step()
        }
    }

    /// The route's timeout passed without the upstream sending anything.
    mutating func timedOut() -> Step {
        guard var exchange else { return Step() }
        switch exchange.upstream {
        case .acquiring, .attached: break
        case .none, .finished: return Step()
        }
        switch exchange.response {
        case .waiting:
            let settlement = settle(.failure)
            var step = respond(.upstreamTimeout)
            step.settle = settlement
            return step
        case .relaying:
            exchange.upstream = .finished
            exchange.response = .complete
            exchange.keepAlive = false
            self.exchange = exchange
            return Step(upstream: .abandon, connection: .close)
        case .complete:
            return Step()
        }
    }

    // MARK: Next request

    /// Continues with what waited: parts of the next request, or the refusal.
    mutating func next() -> Step {
        if exchange == nil, let part = backlog.popFirst() {
            var step: Step
            if case .head(let head) = part {
                step = start(head)
            } else {
                step = Step()  // a stray part of a request that was already answered
            }
            step.replay = step.replay || canReplay
            return step
        }
        if exchange?.request == .receiving, let part = backlog.first, !part.isHead {
            backlog.removeFirst()
            var step: Step
            switch part {
            case .body(let buffer): step = body(buffer)
            case .end: step = end()
            case .head: step = Step()
            }
            step.replay = step.replay || canReplay
            return step
        }
        if let step = refusalIfDue() { return step }
        if inputClosed && isIdle { return Step(connection: .close) }
        return Step()
    }

    private var canReplay: Bool {
        guard let first = backlog.first else { return refusal == .pending && exchange == nil }
        if exchange == nil { return true }
        return exchange?.request == .receiving && !first.isHead
    }

    /// When both the request and the response are complete, the next request may start.
    private mutating func finishIfDone(_ step: inout Step) {
        guard let exchange, exchange.request == .complete, exchange.response == .complete else { return }
        self.exchange = nil
        if !exchange.keepAlive || quiescing {
            if step.connection == nil { step.connection = .close }
            return
        }
        step.reads = .resume
        step.replay = !backlog.isEmpty || refusal == .pending || inputClosed
    }

    /// Takes the permit for settling; nil when it was settled already.
    private mutating func settle(_ settlement: Settlement) -> Settlement? {
        guard exchange?.permit == true else { return nil }
        exchange?.permit = false
        return settlement
    }
}

extension HTTPServerRequestPart {
    fileprivate var isHead: Bool {
        if case .head = self { return true }
        return false
    }
}
