import AsyncHTTPClient
import NIOCore

/// Requests whose bodies are produced or consumed piece by piece, to prove a proxy streams.
public enum StreamingClient {
    /// Sends `chunks` pieces of `chunkSize` bytes. With `pauseAfter`, stops after that many bytes
    /// until the gate opens: a proxy that buffered whole bodies would never let it open.
    public static func upload(
        _ url: String, chunks: Int, chunkSize: Int, declareLength: Bool, pauseAfter: (bytes: Int, gate: Gate)? = nil
    ) async throws -> TestHTTPResponse {
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(4))
        let producer = Task {
            var sent = 0
            let chunk = ByteBuffer(repeating: UInt8(ascii: "u"), count: chunkSize)
            for _ in 0..<chunks {
                if let pause = pauseAfter, sent >= pause.bytes, !pause.gate.isOpen {
                    await pause.gate.wait()
                }
                while case .dropped = continuation.yield(chunk) {
                    // Cancelled (the request already ended): stop, or this loop spins forever.
                    guard (try? await Task.sleep(for: .milliseconds(1))) != nil else { return }
                }
                sent += chunkSize
            }
            continuation.finish()
        }
        defer { producer.cancel() }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .stream(stream, length: declareLength ? .known(Int64(chunks * chunkSize)) : .unknown)
        let response = try await HTTP.client.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        return TestHTTPResponse(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
    }

    /// Downloads, calling `progress` with the running byte count after each piece; returns the total.
    public static func download(
        _ url: String, progress: @Sendable (Int) async -> Void = { _ in }
    ) async throws -> (status: Int, bytes: Int) {
        let response = try await HTTP.client.execute(HTTPClientRequest(url: url), timeout: .seconds(60))
        var total = 0
        for try await chunk in response.body {
            total += chunk.readableBytes
            await progress(total)
        }
        return (Int(response.status.code), total)
    }
}
