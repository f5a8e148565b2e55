import NIOCore
import NIOHTTP1
import Testing

@testable import Gateway

/// The connection state machine alone, event by event, without sockets: every interleaving the
/// data path has to get right, with the steps the handler would perform.
@Suite struct ProxyStateMachineTests {
    typealias Machine = ProxyStateMachine
    typealias Step = ProxyStateMachine.Step

    static func head(_ method: HTTPMethod = .GET, _ headers: [(String, String)] = [], version: HTTPVersion = .http1_1) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: "/rooms/7", headers: HTTPHeaders(headers))
    }

    static func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    /// Runs a request head through admission to an attached upstream connection.
    static func forwarded(_ machine: inout Machine, _ head: HTTPRequestHead, limit: Int = 1 << 20) {
        _ = machine.received(.head(head))
        _ = machine.admitted(.forward(bodyLimit: limit))
        _ = machine.attached(reused: false)
    }

    @Test func aGetGoesUpstreamAndItsAnswerComesBack() {
        var machine = Machine()
        let head = Self.head()
        #expect(machine.received(.head(head)) == Step(client: .admit(head)))
        #expect(machine.received(.end(nil)) == Step())
        #expect(machine.admitted(.forward(bodyLimit: 100)) == Step(upstream: .acquire(fresh: false)))
        #expect(machine.attached(reused: false) == Step(upstream: .send(body: [], end: true), timer: .arm, reads: .resume))
        #expect(machine.upstreamHead(status: 200, keepAlive: true, delimitedByClose: false) == Step(settle: .success, client: .writeHead(closeAfter: false)))
        #expect(machine.upstreamBody(Self.bytes("{}")) == Step(client: .writeBody(Self.bytes("{}"))))
        #expect(
            machine.upstreamEnd() == Step(upstream: .release(reusable: true), client: .writeEnd, timer: .disarm, reads: .resume)
        )
        #expect(machine.exchange == nil, "the connection is ready for the next request")
    }

    @Test func bodyPartsWaitForTheUpstreamThenStream() {
        var machine = Machine()
        _ = machine.received(.head(Self.head(.POST, [("Content-Length", "6")])))
        #expect(machine.received(.body(Self.bytes("abc"))) == Step(reads: .hold), "held before admission; reads pause")
        _ = machine.admitted(.forward(bodyLimit: 100))
        #expect(machine.attached(reused: false) == Step(upstream: .send(body: [Self.bytes("abc")], end: false), reads: .resume))
        #expect(machine.received(.body(Self.bytes("def"))) == Step(upstream: .sendBody(Self.bytes("def"))))
        #expect(machine.received(.end(nil)) == Step(upstream: .sendEnd, timer: .arm), "the timeout starts once the request is sent")
    }

    @Test(arguments: [("Content-Length", "1000"), ("Transfer-Encoding", "chunked")])
    func anUpstreamThatAnswersBeforeTheUploadEndsClosesBothSidesAfterTheAnswer(framing: (String, String)) {
        var machine = Machine()
        Self.forwarded(&machine, Self.head(.POST, [framing]))
        _ = machine.received(.body(Self.bytes("part one")))
        let head = machine.upstreamHead(status: 413, keepAlive: true, delimitedByClose: false)
        #expect(head == Step(settle: .success, client: .writeHead(closeAfter: true), reads: .resume))
        #expect(machine.received(.body(Self.bytes("part two"))) == Step(), "the rest of the body is dropped, not sent")
        #expect(
            machine.upstreamEnd()
                == Step(upstream: .release(reusable: false), client: .writeEnd, timer: .disarm, connection: .lingerThenClose),
            "the upstream connection holds half a request: it is not reused"
        )
        #expect(machine.received(.end(nil)) == Step(connection: .close))
    }

    @Test func aStallAfterTheResponseHeadIsCutByTheTimeout() {
        var machine = Machine()
        Self.forwarded(&machine, Self.head())
        _ = machine.received(.end(nil))
        _ = machine.upstreamHead(status: 200, keepAlive: true, delimitedByClose: false)
        _ = machine.upstreamBody(Self.bytes("partial"))
        #expect(machine.timedOut() == Step(upstream: .abandon, connection: .close), "the client sees the truncation")
        #expect(machine.upstreamEnd() == Step(), "a late end changes nothing")
    }

    @Test func aTimeoutBeforeTheHeadIsA504AndFailsThePermitOnce() {
        var machine = Machine()
        Self.forwarded(&machine, Self.head())
        _ = machine.received(.end(nil))
        #expect(
            machine.timedOut()
                == Step(settle: .failure, upstream: .abandon, client: .respond(.upstreamTimeout, closeAfter: false), timer: .disarm, reads: .resume)
        )
        #expect(machine.upstreamHead(status: 200, keepAlive: true, delimitedByClose: false) == Step(), "too late: already answered")
        #expect(machine.closed() == Step(), "the exchange is over: nothing left to settle or abandon")
    }

    @Test func aClientThatHangsUpAtEachStageReleasesWhatItHeld() {
        // While admission waits for keys: no permit, no upstream.
        var waiting = Machine()
        _ = waiting.received(.head(Self.head()))
        _ = waiting.admitted(.pending)
        #expect(waiting.closed() == Step(timer: .disarm))

        // While the connection is being made: the permit is released, the acquisition dropped.
        var acquiring = Machine()
        _ = acquiring.received(.head(Self.head()))
        _ = acquiring.admitted(.forward(bodyLimit: 10))
        #expect(acquiring.closed() == Step(settle: .release, upstream: .abandon, timer: .disarm))
        #expect(acquiring.attached(reused: false) == Step(upstream: .release(reusable: true)), "a late connection goes back to the pool")

        // Mid-upload: the same, and the half-sent request closes the upstream connection.
        var uploading = Machine()
        Self.forwarded(&uploading, Self.head(.PUT, [("Content-Length", "100")]))
        _ = uploading.received(.body(Self.bytes("some")))
        #expect(uploading.closed() == Step(settle: .release, upstream: .abandon, timer: .disarm))

        // Mid-response: the permit was settled by the head; only the upstream is dropped.
        var relaying = Machine()
        Self.forwarded(&relaying, Self.head())
        _ = relaying.received(.end(nil))
        _ = relaying.upstreamHead(status: 200, keepAlive: true, delimitedByClose: false)
        #expect(relaying.closed() == Step(upstream: .abandon, timer: .disarm))
    }

    /// A GET, complete, admitted and sent on a kept-alive connection from the pool.
    static func sentOnReusedConnection() -> Machine {
        var machine = Machine()
        _ = machine.received(.head(Self.head()))
        _ = machine.received(.end(nil))
        _ = machine.admitted(.forward(bodyLimit: 10))
        _ = machine.attached(reused: true)
        return machine
    }

    @Test func aResetOnAReusedConnectionRetriesAnIdempotentRequestOnceOnAFreshOne() {
        var machine = Self.sentOnReusedConnection()
        #expect(machine.upstreamFailed() == Step(upstream: .acquire(fresh: true), timer: .disarm))
        #expect(machine.attached(reused: false) == Step(upstream: .send(body: [], end: true), timer: .arm, reads: .resume))
        #expect(
            machine.upstreamFailed()
                == Step(settle: .failure, client: .respond(.upstreamReset, closeAfter: false), timer: .disarm, reads: .resume),
            "a fresh connection that fails is the upstream's failure"
        )
    }

    @Test func aMalformedAnswerOnAReusedConnectionIsNotRetried() {
        var machine = Self.sentOnReusedConnection()
        #expect(
            machine.upstreamFailed(answered: true)
                == Step(settle: .failure, client: .respond(.upstreamReset, closeAfter: false), timer: .disarm, reads: .resume),
            "the upstream answered: asking again would only reach it twice"
        )
    }

    @Test func aPostIsNotRepeatedAfterAReset() {
        var machine = Machine()
        Self.forwarded(&machine, Self.head(.POST, [("Content-Length", "2")]))
        _ = machine.received(.body(Self.bytes("{}")))
        _ = machine.received(.end(nil))
        let step = machine.upstreamFailed()
        #expect(step.upstream == nil)
        #expect(step.settle == .failure)
        #expect(step.client == .respond(.upstreamReset, closeAfter: false))
    }

    @Test func aRefusedConnectionTriesOneOtherInstanceForARequestWithoutBody() {
        var machine = Machine()
        _ = machine.received(.head(Self.head()))
        _ = machine.admitted(.forward(bodyLimit: 10))
        #expect(machine.connectFailed(alternativeAvailable: true) == Step(upstream: .acquire(fresh: true)))
        let second = machine.connectFailed(alternativeAvailable: true)
        #expect(second.upstream == nil)
        #expect(second.settle == .failure)
        #expect(second.client == .respond(.upstreamUnreachable, closeAfter: false))
    }

    @Test func pipelinedRequestsWithBodiesAreAnsweredInOrder() {
        var machine = Machine()
        let first = Self.head(.POST, [("Content-Length", "1")])
        let second = Self.head(.POST, [("Content-Length", "1")])
        Self.forwarded(&machine, first)
        _ = machine.received(.body(Self.bytes("a")))
        _ = machine.received(.end(nil))
        #expect(machine.received(.head(second)) == Step(reads: .hold), "the next request waits; reads pause")
        #expect(machine.received(.body(Self.bytes("b"))) == Step(reads: .hold))
        #expect(machine.received(.end(nil)) == Step(reads: .hold))
        _ = machine.upstreamHead(status: 201, keepAlive: true, delimitedByClose: false)
        let done = machine.upstreamEnd()
        #expect(done.replay, "the handler goes on with what waited")
        var next = machine.next()
        #expect(next.client == .admit(second))
        #expect(next.replay)
        next = machine.next()
        #expect(next == Step(reads: .hold, replay: true), "its body is held until admission")
        next = machine.next()
        #expect(next == Step())
        _ = machine.admitted(.forward(bodyLimit: 10))
        #expect(machine.attached(reused: true) == Step(upstream: .send(body: [Self.bytes("b")], end: true), timer: .arm, reads: .resume))
    }

    @Test func expectContinueIsAnsweredOnceTheRequestIsAdmitted() {
        var machine = Machine()
        _ = machine.received(.head(Self.head(.PUT, [("Content-Length", "5"), ("Expect", "100-continue")])))
        #expect(machine.admitted(.forward(bodyLimit: 10)) == Step(upstream: .acquire(fresh: false), client: .writeContinue))

        var refused = Machine()
        _ = refused.received(.head(Self.head(.PUT, [("Content-Length", "5"), ("Expect", "100-continue")])))
        let answer = refused.admitted(.respond(close: false))
        #expect(answer.client == .respond(.admission, closeAfter: true), "the client will not send the body: the connection cannot be reused")
        #expect(answer.connection == .lingerThenClose)
    }

    @Test func http10AndConnectionCloseEndTheConnectionAfterTheAnswer() {
        for head in [Self.head(version: .http1_0), Self.head(.GET, [("Connection", "close")])] {
            var machine = Machine()
            Self.forwarded(&machine, head)
            _ = machine.received(.end(nil))
            #expect(machine.upstreamHead(status: 200, keepAlive: true, delimitedByClose: false).client == .writeHead(closeAfter: true))
            #expect(machine.upstreamEnd().connection == .close)
        }
        // An HTTP/1.0 client that asked for keep-alive, given a response without a length.
        var machine = Machine()
        Self.forwarded(&machine, Self.head(.GET, [("Connection", "keep-alive")], version: .http1_0))
        _ = machine.received(.end(nil))
        #expect(machine.upstreamHead(status: 200, keepAlive: true, delimitedByClose: true).client == .writeHead(closeAfter: true))
    }

    @Test func headAnd204And304EndWithoutABody() {
        for (method, status) in [(HTTPMethod.HEAD, 200), (.GET, 204), (.GET, 304)] {
            var machine = Machine()
            Self.forwarded(&machine, Self.head(method))
            _ = machine.received(.end(nil))
            #expect(machine.upstreamHead(status: status, keepAlive: true, delimitedByClose: false).client == .writeHead(closeAfter: false))
            #expect(machine.upstreamEnd() == Step(upstream: .release(reusable: true), client: .writeEnd, timer: .disarm, reads: .resume))
        }
    }

    @Test func aBodyOverTheLimitIs413AndReleasesThePermitWithoutBlamingTheUpstream() {
        var machine = Machine()
        Self.forwarded(&machine, Self.head(.POST, [("Transfer-Encoding", "chunked")]), limit: 4)
        let step = machine.received(.body(Self.bytes("too long")))
        #expect(
            step
                == Step(
                    settle: .release, upstream: .abandon, client: .respond(.bodyTooLarge(limit: 4), closeAfter: true), timer: .disarm, reads: .resume,
                    connection: .lingerThenClose
                )
        )
        #expect(machine.received(.body(Self.bytes("more"))) == Step(), "dropped; the answer stands")
        #expect(machine.closed() == Step(timer: .disarm), "settled once, nothing to abandon")
    }

    @Test func theBreakerPermitIsSettledExactlyOnce() {
        var machine = Machine()
        Self.forwarded(&machine, Self.head())
        _ = machine.received(.end(nil))
        #expect(machine.upstreamHead(status: 503, keepAlive: true, delimitedByClose: false).settle == .failure)
        #expect(machine.upstreamFailed().settle == nil)
        #expect(machine.timedOut().settle == nil)
        #expect(machine.closed().settle == nil)
    }

    @Test func aLocalAnswerLetsTheNextRequestIn() {
        var machine = Machine()
        _ = machine.received(.head(Self.head()))
        _ = machine.received(.end(nil))
        let step = machine.admitted(.respond(close: false))
        #expect(step == Step(client: .respond(.admission, closeAfter: false), timer: .disarm, reads: .resume))
        #expect(machine.exchange == nil)
    }

    @Test func aMalformedRequestIsRefusedAfterTheOnesBeforeIt() {
        var machine = Machine()
        Self.forwarded(&machine, Self.head())
        _ = machine.received(.end(nil))
        #expect(machine.decoderFailed() == Step(), "the request before it is answered first")
        _ = machine.upstreamHead(status: 200, keepAlive: true, delimitedByClose: false)
        #expect(machine.upstreamEnd().replay)
        #expect(machine.next() == Step(client: .sendRefusal, reads: .resume, connection: .lingerThenClose))
    }

    @Test func idleAndQuiescing() {
        var idle = Machine()
        #expect(idle.idleTimeout() == Step(connection: .close), "an idle keep-alive connection closes")

        var stalled = Machine()
        _ = stalled.received(.head(Self.head(.POST, [("Content-Length", "10")])))
        _ = stalled.admitted(.forward(bodyLimit: 100))
        let step = stalled.idleTimeout()
        #expect(step.client == .respond(.requestTimeout, closeAfter: true), "a client that stalls mid-body gets 408")
        #expect(step.settle == .release)
        #expect(step.connection == .close)

        var quiescing = Machine()
        Self.forwarded(&quiescing, Self.head())
        _ = quiescing.received(.end(nil))
        #expect(quiescing.quiesce() == Step(), "the request in flight finishes")
        #expect(quiescing.upstreamHead(status: 200, keepAlive: true, delimitedByClose: false).client == .writeHead(closeAfter: true))
        #expect(quiescing.upstreamEnd().connection == .close)
    }
}
