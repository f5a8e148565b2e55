import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A real HTTP upstream for gateway tests, on a loopback port chosen by the kernel.
///
/// - any path: echoes what arrived (method, path, query, headers, body size and digest) as JSON
/// - `/slow?ms=N`: answers after N milliseconds
/// - `/fail`: 500 while `failing` is set, 200 otherwise
/// - `/download?bytes=N&gated=1`: streams N bytes; with `gated`, sends 1 MiB, waits for
///   `downloadGate`, then sends the rest
/// - `/upload`: reads the body as it streams, opens `uploadStarted` after 1 MiB, answers its size
/// - `POST /early`: 413 at once, without reading the body
/// - `/status/N`: status N without a body; `/chunked`: a body without a length (sent in chunks)
/// - `HEAD` on any path: the echo's head (its Content-Length), without the body
public final class TestUpstream: Sendable {
    public let name: String
    public let hits = Atomic<Int>(0)
    public let failing = Atomic<Bool>(false)
    public let downloadGate = Gate()
    public let uploadStarted = Gate()

    public init(name: String) {
        self.name = name
    }

    public struct Echo: Codable, Sendable {
        public var instance: String
        public var method: String
        public var path: String
        public var query: String?
        public var headers: [String: String]
        public var bodyBytes: Int
        public var body: String
    }

    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        let upstream = self
        router.get("/slow") { request, _ -> Response in
            upstream.hits.add(1, ordering: .relaxed)
            let millis = request.uri.queryParameters["ms"].flatMap { Int($0) } ?? 1000
            try await Task.sleep(for: .milliseconds(millis))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"slow\":true}")))
        }
        router.get("/fail") { _, _ -> Response in
            upstream.hits.add(1, ordering: .relaxed)
            let failing = upstream.failing.load(ordering: .relaxed)
            return Response(
                status: failing ? .internalServerError : .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: failing ? "{\"error\":\"boom\"}" : "{\"ok\":true}"))
            )
        }
        router.get("/download") { request, _ -> Response in
            upstream.hits.add(1, ordering: .relaxed)
            let total = request.uri.queryParameters["bytes"].flatMap { Int($0) } ?? 1024
            let gated = request.uri.queryParameters["gated"] != nil
            return Response(
                status: .ok, headers: [.contentType: "application/octet-stream"],
                body: ResponseBody(contentLength: total) { writer in
                    var sent = 0
                    let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 * 1024)
                    while sent < total {
                        if gated && sent >= 1 << 20 && !upstream.downloadGate.isOpen {
                            await upstream.downloadGate.wait()
                        }
                        let size = min(chunk.readableBytes, total - sent)
                        try await writer.write(chunk.getSlice(at: 0, length: size)!)
                        sent += size
                    }
                    try await writer.finish(nil)
                }
            )
        }
        router.post("/early") { _, _ -> Response in
            // Answers at once, without reading the body, as a service with a small body limit does.
            upstream.hits.add(1, ordering: .relaxed)
            return Response(
                status: .contentTooLarge, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"too big\"}"))
            )
        }
        router.post("/upload") { request, _ -> Response in
            upstream.hits.add(1, ordering: .relaxed)
            var received = 0
            for try await chunk in request.body {
                received += chunk.readableBytes
                if received >= 1 << 20 { upstream.uploadStarted.open() }
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"received\":\(received)}")))
        }
        router.get("/status/{code}") { _, context -> Response in
            // Any status, no body (204 and 304 must not have one).
            upstream.hits.add(1, ordering: .relaxed)
            return Response(status: .init(code: context.parameters.get("code", as: Int.self) ?? 500))
        }
        router.get("/chunked") { _, _ -> Response in
            // A body of unknown length: on the wire, in chunks.
            upstream.hits.add(1, ordering: .relaxed)
            return Response(
                status: .ok, headers: [.contentType: "text/plain"],
                body: ResponseBody { writer in
                    for part in 0..<3 { try await writer.write(ByteBuffer(string: "part \(part);")) }
                    try await writer.finish(nil)
                }
            )
        }
        router.on("/**", method: .head) { request, context in try await upstream.echo(request, context) }
        router.on("/**", method: .get) { request, context in try await upstream.echo(request, context) }
        router.on("/**", method: .post) { request, context in try await upstream.echo(request, context) }
        router.on("/**", method: .put) { request, context in try await upstream.echo(request, context) }
        router.on("/**", method: .delete) { request, context in try await upstream.echo(request, context) }
        router.on("/", method: .get) { request, context in try await upstream.echo(request, context) }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) }, logger: testLogger("upstream")
        )
    }

    func echo(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        hits.add(1, ordering: .relaxed)
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        var headers: [String: String] = [:]
        // A header sent twice shows as both values, so a test sees a duplicate the proxy let through.
        for field in request.headers { headers[field.name.canonicalName] = headers[field.name.canonicalName].map { $0 + ", " + field.value } ?? field.value }
        let echo = Echo(
            instance: name, method: request.method.rawValue, path: request.uri.path, query: request.uri.query, headers: headers,
            bodyBytes: body.readableBytes, body: String(buffer: body)
        )
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: Array(try JSONEncoder().encode(echo)))))
    }
}
