import GatewayHeaders
import NIOCore
import NIOHTTP1

/// HTTP/1 written as bytes on both legs of the proxy.
enum HTTPWire {
    /// One header line. Names and values come from NIO's decoder (which refuses CR and LF in
    /// them), from routes.json, or from the gateway itself; token claims are checked before.
    static func writeField(_ buffer: inout ByteBuffer, _ name: String, _ value: String) {
        var name = name
        var value = value
        name.withUTF8 { name in
            value.withUTF8 { value in writeField(&buffer, name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(value)) }
        }
    }

    /// One capacity check and one copy per part, not four buffer writes.
    static func writeField(_ buffer: inout ByteBuffer, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let total = name.count + value.count + 4
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            out.copyMemory(from: name)
            out[name.count] = UInt8(ascii: ":")
            out[name.count + 1] = UInt8(ascii: " ")
            UnsafeMutableRawBufferPointer(rebasing: out[(name.count + 2)...]).copyMemory(from: value)
            out[total - 2] = UInt8(ascii: "\r")
            out[total - 1] = UInt8(ascii: "\n")
            return total
        }
    }
}

/// Storage for the heads a connection writes, used again once the socket has sent the last one:
/// `ByteBuffer.clear()` keeps storage nobody else holds, so a steady connection allocates nothing
/// for its heads. Storage still queued for the socket is left to it, and a head that needed more
/// than `keepLimit` bytes is not kept.
struct HeadScratch {
    private var buffer = ByteBuffer()
    static let initialCapacity = 1024
    static let keepLimit = 8192

    /// Writes one head with `body` and returns it (sharing the storage until the socket is done).
    mutating func write(_ body: (inout ByteBuffer) -> Void) -> ByteBuffer {
        if buffer.capacity == 0 || buffer.capacity > Self.keepLimit {
            buffer = ByteBufferAllocator().buffer(capacity: Self.initialCapacity)
        } else {
            buffer.clear()
        }
        body(&buffer)
        return buffer
    }
}

/// The client side's HTTP/1 responses, written straight into bytes.
///
/// NIO's `HTTPResponseEncoder` wants a second header list per response (built from the upstream's,
/// filtered), then checks and re-scans it to frame the body. The gateway knows the framing when it
/// filters, so it writes the head in one pass and frames the body itself, with the same rules:
/// - 1xx, 204 and 304 carry no body, so no Content-Length or Transfer-Encoding goes with them;
/// - otherwise a Content-Length is kept, and without one an HTTP/1.1 body is chunked (an HTTP/1.0
///   body ends with the connection);
/// - the answer to HEAD keeps its framing headers but carries no body bytes.
struct ResponseWriter {
    /// The body of the response being written goes out in chunks.
    private(set) var chunked = false
    /// The response answers HEAD (or has no body): body bytes are dropped.
    private(set) var suppressed = false
    private var mayHaveBody = true
    private var hasLength = false
    private var http10 = false

    /// Starts a head: the status line. Fields follow, then ``endHead(into:answersHead:connection:)``.
    mutating func startHead(into buffer: inout ByteBuffer, http10: Bool, status: Int, reason: UnsafeRawBufferPointer) {
        self.http10 = http10
        mayHaveBody = status >= 200 && status != 204 && status != 304
        hasLength = false
        buffer.writeStaticString(http10 ? "HTTP/1.0 " : "HTTP/1.1 ")
        buffer.writeString(String(status))
        buffer.writeStaticString(" ")
        buffer.writeBytes(reason)
        buffer.writeStaticString("\r\n")
    }

    mutating func startHead(into buffer: inout ByteBuffer, http10: Bool, status: Int, reason: String) {
        var reason = reason
        reason.withUTF8 { startHead(into: &buffer, http10: http10, status: status, reason: UnsafeRawBufferPointer($0)) }
    }

    /// One field, written as given. A Content-Length is dropped for a status without a body and
    /// otherwise decides the framing. Connection and Transfer-Encoding must not come here.
    mutating func field(into buffer: inout ByteBuffer, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if HeaderRules.equalsIgnoringCase(bytes: name, "content-length") {
            guard mayHaveBody else { return }
            hasLength = true
        }
        HTTPWire.writeField(&buffer, name: name, value: value)
    }

    mutating func field(into buffer: inout ByteBuffer, _ name: String, _ value: String) {
        var name = name
        var value = value
        name.withUTF8 { name in
            value.withUTF8 { value in field(into: &buffer, name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(value)) }
        }
    }

    /// Ends the head: framing and connection headers, the blank line.
    mutating func endHead(into buffer: inout ByteBuffer, answersHead: Bool, connection: StaticString?) {
        chunked = mayHaveBody && !hasLength && !http10
        if chunked { buffer.writeStaticString("Transfer-Encoding: chunked\r\n") }
        if let connection {
            buffer.writeStaticString("Connection: ")
            buffer.writeStaticString(connection)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        suppressed = answersHead || !mayHaveBody
        if suppressed { chunked = false }
    }

    /// The bytes that carry `data` as (part of) the body: nothing when the body is suppressed,
    /// otherwise the data, in a chunk if the body is chunked.
    func body(_ data: ByteBuffer, allocator: ByteBufferAllocator, _ write: (ByteBuffer) -> Void) {
        guard !suppressed else { return }
        ChunkedBody.write(data, chunked: chunked, allocator: allocator, write)
    }

    /// What ends the body: the last chunk of a chunked body, nothing otherwise.
    func end() -> ByteBuffer? {
        chunked && !suppressed ? ChunkedBody.last : nil
    }

    /// `100 Continue` for an HTTP/1.1 client that waits for it before sending its body.
    static let continueHead = ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")
}

/// Chunked transfer coding (RFC 9112 7.1), for bodies the gateway passes on in either direction.
enum ChunkedBody {
    /// Writes `data` as one chunk (or as it is, when not `chunked`). Empty data writes nothing:
    /// an empty chunk would end the body.
    static func write(_ data: ByteBuffer, chunked: Bool, allocator: ByteBufferAllocator, _ write: (ByteBuffer) -> Void) {
        guard data.readableBytes > 0 else { return }
        guard chunked else {
            write(data)
            return
        }
        var prefix = allocator.buffer(capacity: 20)
        prefix.writeString(String(data.readableBytes, radix: 16))
        prefix.writeStaticString("\r\n")
        write(prefix)
        write(data)
        write(chunkEnd)
    }

    /// The last chunk, with no trailers.
    static let last = ByteBuffer(staticString: "0\r\n\r\n")
    private static let chunkEnd = ByteBuffer(staticString: "\r\n")
}

/// The bottom of an upstream connection's pipeline, where NIO's request encoder would be (below
/// TLS when there is TLS). ``UpstreamConnection`` writes request bytes through this handler's
/// context, so they pass no other handler on their way out.
final class RequestBytes: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer

    private(set) var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }
}
