import Foundation
import PortierTestSupport
import Testing

/// The bytes a client sees on the wire: the gateway writes heads and frames bodies itself, so
/// every framing rule is checked on a real socket, with requests that follow on the same
/// connection (a stray byte would garble the next answer).
@Suite(.timeLimit(.minutes(2))) struct WireTests {
    static func routes(_ ports: GatewayHarness.Ports) -> [String: Any] {
        ["routes": [["id": "svc", "path": "/", "upstreams": [ports.upstream("a")], "public": true]]]
    }

    static func port(_ gw: GatewayHarness) throws -> Int {
        try #require(gw.base.split(separator: ":").last.flatMap { Int($0) })
    }

    /// The value of header `name` in a response head (case-insensitive), nil when absent.
    static func header(_ head: String, _ name: String) -> String? {
        for line in head.components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == name { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    /// The head and the body of a whole response.
    static func split(_ response: String) throws -> (head: String, body: String) {
        let end = try #require(response.range(of: "\r\n\r\n"))
        return (String(response[..<end.upperBound]), String(response[end.upperBound...]))
    }

    /// A chunked body decoded; nil when it is not well-formed or does not end with the last chunk.
    /// (By byte: "\r\n" is one Character.)
    static func dechunk(_ body: String) -> String? {
        var rest = Array(body.utf8)[...]
        var decoded: [UInt8] = []
        let crlf: [UInt8] = [13, 10]
        while let lineEnd = rest.indices.first(where: { rest[$0...].starts(with: crlf) }) {
            guard let size = Int(String(decoding: rest[..<lineEnd], as: UTF8.self), radix: 16) else { return nil }
            rest = rest[(lineEnd + 2)...]
            if size == 0 { return rest.elementsEqual(crlf) ? String(decoding: decoded, as: UTF8.self) : nil }
            guard rest.count >= size + 2, rest.dropFirst(size).starts(with: crlf) else { return nil }
            decoded += rest.prefix(size)
            rest = rest.dropFirst(size + 2)
        }
        return nil
    }

    @Test func headAnd204And304CarryNoBodyAndTheConnectionStaysInStep() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let connection = try RawSocket.open(port: try Self.port(gw))
            try connection.send("HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try await connection.read(through: "\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
            let length = try #require(Self.header(head, "content-length").flatMap { Int($0) }, "HEAD keeps the length GET would have")
            #expect(length > 0)
            #expect(Self.header(head, "transfer-encoding") == nil)
            #expect(Self.header(head, "x-request-id") != nil)

            // Forwarded and local answers alike: a head, nothing after it.
            try connection.send("HEAD /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            let local = try await connection.read(through: "\r\n\r\n")
            #expect(local.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(Self.header(local, "content-length") == "15")

            for code in [204, 304] {
                try connection.send("GET /status/\(code) HTTP/1.1\r\nHost: x\r\n\r\n")
                let answer = try await connection.read(through: "\r\n\r\n")
                #expect(answer.hasPrefix("HTTP/1.1 \(code) "))
                #expect(Self.header(answer, "content-length") == nil, "\(code) has no body to measure")
                #expect(Self.header(answer, "transfer-encoding") == nil)
            }

            // Had any body bytes followed those heads, this answer would not start at its status line.
            try connection.send("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let (last, body) = try Self.split(try await connection.readUntilClosed())
            #expect(last.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(Self.header(last, "connection") == "close")
            #expect(Self.header(last, "content-length") == String(body.utf8.count))
            let echo = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            #expect(echo?["method"] as? String == "GET")
        }
    }

    @Test func aBodyWithoutALengthGoesInChunksToHTTP11AndUntilCloseToHTTP10() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let port = try Self.port(gw)
            let (head, body) = try Self.split(
                try await RawSocket.sendAndReadUntilClosed(port: port, "GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            )
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(Self.header(head, "transfer-encoding") == "chunked")
            #expect(Self.header(head, "content-length") == nil)
            #expect(Self.dechunk(body) == "part 0;part 1;part 2;", "well-formed chunks ending with the last chunk, got \(body.debugDescription)")

            // HTTP/1.0 has no chunks: the body runs until the gateway closes the connection.
            let (oldHead, oldBody) = try Self.split(try await RawSocket.sendAndReadUntilClosed(port: port, "GET /chunked HTTP/1.0\r\nHost: x\r\n\r\n"))
            #expect(oldHead.hasPrefix("HTTP/1.0 200 OK\r\n"))
            #expect(Self.header(oldHead, "transfer-encoding") == nil)
            #expect(Self.header(oldHead, "connection") == "close")
            #expect(oldBody == "part 0;part 1;part 2;")
        }
    }

    @Test func anHTTP10ClientThatAsksForKeepAliveGetsIt() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let connection = try RawSocket.open(port: try Self.port(gw))
            try connection.send("GET /status/200 HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
            let head = try await connection.read(through: "\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.0 200 OK\r\n"))
            #expect(Self.header(head, "connection") == "keep-alive")
            #expect(Self.header(head, "content-length") == "0", "a 1.0 client needs the length to keep the connection")
            try connection.send("GET /echo HTTP/1.0\r\nHost: x\r\n\r\n")
            let (second, body) = try Self.split(try await connection.readUntilClosed())
            #expect(second.hasPrefix("HTTP/1.0 200 OK\r\n"))
            #expect(Self.header(second, "connection") == "close")
            #expect(Self.header(second, "content-length") == String(body.utf8.count))
        }
    }

    @Test func expectContinueGetsTheInterimAnswerBeforeTheBodyIsSent() async throws {
        try await GatewayHarness.run(routes: Self.routes) { gw in
            let connection = try RawSocket.open(port: try Self.port(gw))
            try connection.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
            #expect(try await connection.read(through: "\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n")
            try connection.send("hello")
            let (head, body) = try Self.split(try await connection.readUntilClosed())
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
            let echo = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            #expect(echo?["body"] as? String == "hello")
            #expect((echo?["headers"] as? [String: String])?["Expect"] == nil, "the gateway answered the expectation itself")
        }
    }

    @Test func anHTTP10ClientGetsNo100ContinueEvenIfItAsks() async throws {
        let upstream = try ScriptedUpstream { _ in Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8) }
        defer { upstream.stop() }
        let routes: @Sendable (GatewayHarness.Ports) -> [String: Any] = { _ in
            ["routes": [["id": "svc", "path": "/", "upstreams": ["http://127.0.0.1:\(upstream.port)"], "public": true]]]
        }
        try await GatewayHarness.run(upstreams: [], tokenServer: false, routes: routes) { gw in
            let connection = try RawSocket.open(port: try Self.port(gw))
            try connection.send("POST /upload HTTP/1.0\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            // Once the upstream has the request head, the gateway has done what it does on attach
            // (where an HTTP/1.1 client would get its 100 Continue); only then comes the body.
            let arrived = try await eventually { upstream.hits("/upload") == 1 }
            #expect(arrived)
            try connection.send("hello")
            let answer = try await connection.readUntilClosed()
            #expect(answer.hasPrefix("HTTP/1.0 200 OK\r\n"), "no 1xx to an HTTP/1.0 client (RFC 9110 15.2): \(answer.debugDescription)")
        }
    }
}

/// A keep-alive connection remembers the last token it sent (a shortcut past the shared cache):
/// each request must still be judged by its own token.
@Suite(.timeLimit(.minutes(2))) struct ConnectionTokenTests {
    @Test func eachRequestOnOneConnectionIsJudgedByItsOwnToken() async throws {
        try await GatewayHarness.run { gw in
            let reader = try await gw.token(scope: "read")
            let writer = try await gw.token(scope: "write")
            let middle = reader.index(reader.endIndex, offsetBy: -20)
            let forged = reader.replacingCharacters(in: middle...middle, with: reader[middle] == "A" ? "B" : "A")
            let connection = try RawSocket.open(port: try WireTests.port(gw))
            func status(_ method: String, _ token: String) async throws -> String {
                let body = method == "POST" ? "Content-Length: 2\r\n\r\n{}" : "\r\n"
                try connection.send("\(method) /rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\(body)")
                let head = try await connection.read(through: "\r\n\r\n")
                let length = WireTests.header(head, "content-length").flatMap { Int($0) } ?? 0
                if length > 0 { _ = try await connection.read(bytes: length) }
                return String(head.prefix(12))
            }
            #expect(try await status("GET", reader) == "HTTP/1.1 200")
            #expect(try await status("POST", reader) == "HTTP/1.1 403", "a read token cannot write")
            #expect(try await status("POST", writer) == "HTTP/1.1 200", "the next token on the connection counts, not the last one")
            #expect(try await status("GET", writer) == "HTTP/1.1 403", "a write token cannot read")
            #expect(try await status("GET", forged) == "HTTP/1.1 401", "a forged token after good ones is refused")
            #expect(try await status("GET", reader) == "HTTP/1.1 200")
        }
    }
}

/// Upstreams that answer with what no HTTP server should send: the client gets a clear 502 (or,
/// once the head has gone out, a cut connection), and the gateway goes on serving.
@Suite(.timeLimit(.minutes(2))) struct MalformedUpstreamTests {
    @Test func aMalformedResponseIsA502AndTheGatewayGoesOn() async throws {
        let answers: [String: String] = [
            "/conflicting": "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
            "/lengths": "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            "/folded": "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n",
            "/control": "HTTP/1.1 200 OK\r\nX-A: a\u{1}b\r\nContent-Length: 0\r\n\r\n",
            "/not-http": "SSH-2.0-OpenSSH_9.2\r\n\r\n",
            "/upgrade": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
        ]
        let others = [
            "/cut": "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            "/extra": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokXX",
            "/listed-length": "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok",
        ]
        let upstream = try ScriptedUpstream { head in
            let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            return Array((answers[path] ?? others[path] ?? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").utf8)
        }
        defer { upstream.stop() }
        let routes: @Sendable (GatewayHarness.Ports) -> [String: Any] = { _ in
            ["routes": [["id": "odd", "path": "/", "upstreams": ["http://127.0.0.1:\(upstream.port)"], "public": true]]]
        }
        try await GatewayHarness.run(upstreams: [], tokenServer: false, routes: routes) { gw in
            for path in answers.keys.sorted() {
                let response = try await gw.get(path)
                #expect(response.status == 502, "\(path)")
                #expect(response.json["error"] as? String == "bad_gateway", "\(path)")
            }
            let fine = try await gw.get("/fine")
            #expect(fine.status == 200)
            #expect(fine.text == "ok")

            // Once the head is out, a body cut short can only be a cut connection: the client
            // sees fewer bytes than the length it was promised.
            let (head, body) = try WireTests.split(
                try await RawSocket.sendAndReadUntilClosed(port: try WireTests.port(gw), "GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
            )
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(WireTests.header(head, "content-length") == "10")
            #expect(body == "abc")
            #expect(try await gw.get("/fine").status == 200)

            // One length, written once, however the upstream repeated it.
            let (listed, _) = try WireTests.split(
                try await RawSocket.sendAndReadUntilClosed(port: try WireTests.port(gw), "GET /listed-length HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            )
            #expect(listed.lowercased().components(separatedBy: "content-length:").count == 2, "\(listed)")
            #expect(WireTests.header(listed, "content-length") == "2")

            // Bytes after a complete response: that response reaches its client, and the request
            // queued behind it on the same client connection (a POST, never retried) is not sent
            // over the upstream connection that misbehaved.
            let both = try await RawSocket.sendAndReadUntilClosed(
                port: try WireTests.port(gw),
                "GET /extra HTTP/1.1\r\nHost: x\r\n\r\nPOST /fine HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
            )
            #expect(both.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 3, "two answers of 200: \(both.debugDescription)")
            #expect(both.hasSuffix("\r\n\r\nok"))
        }
    }

    @Test func aMalformedAnswerOnAReusedConnectionIsNotAskedTwice() async throws {
        let upstream = try ScriptedUpstream(keepOpen: true) { head in
            head.hasPrefix("GET /folded ")
                ? Array("HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n".utf8)
                : Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        }
        defer { upstream.stop() }
        let routes: @Sendable (GatewayHarness.Ports) -> [String: Any] = { _ in
            ["routes": [["id": "odd", "path": "/", "upstreams": ["http://127.0.0.1:\(upstream.port)"], "public": true]]]
        }
        try await GatewayHarness.run(upstreams: [], tokenServer: false, routes: routes) { gw in
            // The first answer leaves a kept-alive connection in the pool; the second request reuses it.
            let fine = try await gw.get("/fine")
            #expect(fine.status == 200)
            let folded = try await gw.get("/folded")
            #expect(folded.status == 502)
            #expect(upstream.hits("/folded") == 1, "a GET the upstream answered badly is not sent again")
        }
    }
}
