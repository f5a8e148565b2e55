import GatewayHeaders
import Testing

/// The parser of upstream responses, driven with bytes alone: every framing, every place a read
/// can cut a response, and every malformation it must refuse.
@Suite struct ResponseParserTests {
    /// What a run of the parser produced, in a form tests compare: the head's status and fields
    /// as text, the body bytes, and whether the response ended.
    struct Outcome: Equatable {
        var status: Int?
        var reason = ""
        var fields: [String] = []
        var keepAlive: Bool?
        var framing: ResponseParser.Framing?
        var contentLength: Int?
        var body = ""
        var ends = 0
    }

    /// Feeds `text` in pieces cut at `cuts` (offsets into it), as reads from a socket would,
    /// keeping unconsumed bytes for the next piece; then, if `close`, ends the connection.
    static func run(_ text: String, cuts: [Int] = [], toHEAD: Bool = false, close: Bool = false) throws -> Outcome {
        let bytes = Array(text.utf8)
        var parser = ResponseParser()
        parser.expectResponse(toHEAD: toHEAD)
        var outcome = Outcome()
        var pending: [UInt8] = []
        var start = 0
        for end in cuts.filter({ $0 > 0 && $0 < bytes.count }) + [bytes.count] where end >= start {
            let input = pending + bytes[start..<end]
            start = end
            let consumed = try input.withUnsafeBytes { raw throws(ResponseParser.ParseError) in
                try parser.parse(raw) { event in record(event, raw, into: &outcome) }
            }
            pending = Array(input[consumed...])
        }
        if close {
            try parser.finish { event in record(event, UnsafeRawBufferPointer(start: nil, count: 0), into: &outcome) }
        }
        return outcome
    }

    static func record(_ event: ResponseParser.Event, _ raw: UnsafeRawBufferPointer, into outcome: inout Outcome) {
        func text(_ range: Range<Int>) -> String { String(decoding: raw[range], as: UTF8.self) }
        switch event {
        case .head(let head):
            outcome.status = head.status
            outcome.reason = text(head.reason)
            outcome.fields = head.fields.map { text($0.name) + "=" + text($0.value) }
            outcome.keepAlive = head.keepAlive
            outcome.framing = head.framing
            outcome.contentLength = head.contentLength
        case .body(let range):
            outcome.body += text(range)
        case .end:
            outcome.ends += 1
        }
    }

    static let simple = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\nX-Spaced:  a b \t\r\n\r\nhello"

    @Test func aResponseWithALengthInEveryPossibleCut() throws {
        let whole = try Self.run(Self.simple)
        #expect(whole == Outcome(
            status: 200, reason: "OK", fields: ["Server=nginx", "Content-Length=5", "X-Spaced=a b"], keepAlive: true, framing: .length(5),
            contentLength: 5, body: "hello", ends: 1
        ))
        for cut in 1..<Self.simple.utf8.count {
            #expect(try Self.run(Self.simple, cuts: [cut]) == whole, "cut at \(cut)")
        }
        // A byte at a time.
        #expect(try Self.run(Self.simple, cuts: Array(1..<Self.simple.utf8.count)) == whole)
    }

    @Test func chunksWithExtensionsAndTrailersInEveryPossibleCut() throws {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;name=value\r\nhello\r\nA\r\n, world!!!\r\n0\r\nTrailer-A: 1\r\n\r\n"
        let whole = try Self.run(text)
        #expect(whole.framing == .chunked)
        #expect(whole.body == "hello, world!!!")
        #expect(whole.ends == 1)
        #expect(whole.keepAlive == true)
        for cut in 1..<text.utf8.count {
            #expect(try Self.run(text, cuts: [cut]) == whole, "cut at \(cut)")
        }
        // Sizes padded with zeros, as some servers write them.
        #expect(try Self.run("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000000005\r\nhello\r\n000\r\n\r\n").body == "hello")
        // Bare LF line ends are read too (RFC 9112 2.2).
        let bare = try Self.run("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n")
        #expect(bare.body == "abc" && bare.ends == 1)
    }

    @Test func responsesWithoutABody() throws {
        // The answer to HEAD has the length GET would have, and no body.
        let head = try Self.run("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", toHEAD: true)
        #expect(head.framing == ResponseParser.Framing.none && head.ends == 1 && head.body.isEmpty)
        #expect(head.contentLength == 10, "the length GET would have is still told")
        for status in [204, 304] {
            let answer = try Self.run("HTTP/1.1 \(status) X\r\nContent-Length: 3\r\n\r\n")
            #expect(answer.status == status && answer.framing == ResponseParser.Framing.none && answer.ends == 1)
        }
        // Interim answers are passed over; the final one counts.
        let interim = try Self.run("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        #expect(interim.status == 201 && interim.fields == ["Content-Length=0"] && interim.ends == 1)
        // No reason phrase at all.
        #expect(try Self.run("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").reason == "")
    }

    @Test func aBodyWithoutALengthRunsUntilTheClose() throws {
        let text = "HTTP/1.1 200 OK\r\n\r\nall of it"
        let open = try Self.run(text)
        #expect(open.framing == .untilClose && open.keepAlive == false && open.body == "all of it" && open.ends == 0)
        #expect(try Self.run(text, close: true).ends == 1)
    }

    @Test func keepAliveFollowsVersionAndConnection() throws {
        #expect(try Self.run("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keepAlive == false)
        #expect(try Self.run("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n").keepAlive == false)
        #expect(try Self.run("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keepAlive == false)
        #expect(try Self.run("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").keepAlive == true)
        #expect(try Self.run("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n").framing == .length(7))
        // HTTP/1.0 with Transfer-Encoding: the connection is not trusted past this response.
        #expect(try Self.run("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").keepAlive == false)
    }

    @Test func malformedResponsesAreRefused() throws {
        let cases: [(String, ResponseParser.ParseError)] = [
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", .badFraming),
            ("HTTP/1.1 101 Switching Protocols\r\n\r\n", .badFraming),
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", .badContentLength),
            ("HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n", .badContentLength),
            ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", .badContentLength),
            ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", .badContentLength),
            ("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n", .malformedField),
            ("HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n", .malformedField),
            ("HTTP/1.1 200 OK\r\n: 1\r\n\r\n", .malformedField),
            ("HTTP/1.1 200 OK\r\nX-A: 1\r2\r\n\r\n", .malformedField),
            ("HTTP/1.1 200 OK\r\nX-A: a\u{0}b\r\n\r\n", .malformedField),
            ("HTTP/2.0 200 OK\r\n\r\n", .malformedStatusLine),
            ("HTTP/1.1 20 OK\r\n\r\n", .malformedStatusLine),
            ("HTTP/1.1 099 OK\r\n\r\n", .malformedStatusLine),
            ("HTTP/1.1 200OK\r\n\r\n", .malformedStatusLine),
            ("SMTP ready\r\n\r\n", .malformedStatusLine),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .malformedChunk),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", .malformedChunk),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", .malformedChunk),
            ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab", .unsolicited),
        ]
        for (text, expected) in cases {
            #expect(throws: expected, "\(text.debugDescription)") { _ = try Self.run(text) }
        }
        #expect(throws: ResponseParser.ParseError.truncated) { _ = try Self.run("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", close: true) }
        #expect(throws: ResponseParser.ParseError.truncated) { _ = try Self.run("HTTP/1.1 200 OK\r\nContent-Le", close: true) }
    }

    @Test func limitsHold() throws {
        let huge = "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: ResponseParser.maxHeadBytes) + "\r\n\r\n"
        #expect(throws: ResponseParser.ParseError.headTooLarge) { _ = try Self.run(huge) }
        // Without the blank line ever coming: refused once the limit is passed, not buffered forever.
        #expect(throws: ResponseParser.ParseError.headTooLarge) { _ = try Self.run(String(huge.dropLast(4)), cuts: [100, 40_000]) }
        let many = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-A: 1\r\n", count: ResponseParser.maxFields + 1) + "\r\n"
        #expect(throws: ResponseParser.ParseError.tooManyFields) { _ = try Self.run(many) }
    }

    @Test func nothingMayArriveWhileNoResponseIsDue() {
        var parser = ResponseParser()
        #expect(throws: ResponseParser.ParseError.unsolicited) {
            _ = try Array("HTTP/1.1 200 OK\r\n\r\n".utf8).withUnsafeBytes { raw throws(ResponseParser.ParseError) in try parser.parse(raw) { _ in } }
        }
    }

    @Test func fieldsGoingBackSkipHopByHopAndConnectionListedNames() throws {
        for count in [1, 12] {
            let extra = (0..<count).map { "x-extra-\($0)" }
            let text = "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret, \(extra.joined(separator: ","))\r\nKeep-Alive: timeout=5\r\n"
                + "x-secret: 1\r\nX-EXTRA-0: 2\r\nContent-Type: text/plain\r\nUpgrade: h2c\r\nX-Kept: 3\r\nContent-Length: 0\r\n\r\n"
            let bytes = Array(text.utf8)
            var parser = ResponseParser()
            parser.expectResponse(toHEAD: false)
            var passed: [String] = []
            _ = try bytes.withUnsafeBytes { raw throws(ResponseParser.ParseError) in
                try parser.parse(raw) { event in
                    guard case .head(let head) = event else { return }
                    HeaderRules.forEachDownstreamField(in: raw, fields: head.fields) { passed.append(String(decoding: raw[$0.name], as: UTF8.self)) }
                }
            }
            #expect(passed == ["Content-Type", "X-Kept", "Content-Length"], "with \(count) more listed names")
        }
    }
}
