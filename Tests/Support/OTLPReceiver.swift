import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// One span as an OTLP exporter sent it, reduced to what tests look at.
public struct OTLPSpan: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Int, Sendable {
        case unspecified = 0
        case `internal` = 1
        case server = 2
        case client = 3
        case producer = 4
        case consumer = 5
    }

    /// The resource attribute `service.name` ("" when the resource has none).
    public var service: String
    /// 32 lowercase hex digits.
    public var traceID: String
    /// 16 lowercase hex digits.
    public var spanID: String
    /// nil for a root span.
    public var parentSpanID: String?
    public var name: String
    public var kind: Kind
    /// String values as sent; other values as text (ints in decimal, `true`/`false`, doubles as Swift prints
    /// them, bytes in hex, arrays as `[a, b]`, key-value lists as `{k: v}`).
    public var attributes: [String: String]
    public var links: [OTLPLink]
    /// Status.code: 0 unset, 1 ok, 2 error.
    public var statusCode: Int

    public init(
        service: String, traceID: String, spanID: String, parentSpanID: String? = nil, name: String, kind: Kind = .unspecified,
        attributes: [String: String] = [:], links: [OTLPLink] = [], statusCode: Int = 0
    ) {
        self.service = service
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.attributes = attributes
        self.links = links
        self.statusCode = statusCode
    }

    public var description: String {
        var text = "\(service) \"\(name)\" \(kind) trace \(traceID) span \(spanID) parent \(parentSpanID ?? "-") status \(statusCode)"
        if !attributes.isEmpty {
            text += " " + attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
        if !links.isEmpty { text += " links " + links.map { "\($0.traceID)/\($0.spanID)" }.joined(separator: ",") }
        return text
    }
}

/// A span link: the linked span's trace and span IDs in lowercase hex.
public struct OTLPLink: Sendable, Equatable {
    public var traceID: String
    public var spanID: String

    public init(traceID: String, spanID: String) {
        self.traceID = traceID
        self.spanID = spanID
    }
}

public struct OTLPDecodeError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Decodes an OTLP `ExportTraceServiceRequest` in the protobuf wire format, by hand (no generated
/// code). The input is treated as hostile: every read is bounds-checked, and anything truncated,
/// overlong, or of a wire type protobuf 3 does not use throws.
public enum OTLPDecoder {
    public static func spans(fromExportRequest bytes: [UInt8]) throws -> [OTLPSpan] {
        var reader = ProtobufReader(bytes)
        var spans: [OTLPSpan] = []
        while let field = try reader.next() {
            // ExportTraceServiceRequest.resource_spans = 1
            if field.number == 1 { spans += try resourceSpans(field.message("resource_spans")) }
        }
        return spans
    }

    static func resourceSpans(_ reader: ProtobufReader) throws -> [OTLPSpan] {
        var reader = reader
        var service = ""
        var spans: [OTLPSpan] = []
        while let field = try reader.next() {
            switch field.number {
            case 1:  // Resource
                var resource = try field.message("resource")
                while let resourceField = try resource.next() {
                    // Resource.attributes = 1
                    guard resourceField.number == 1 else { continue }
                    let (key, value) = try keyValue(resourceField.message("resource attribute"))
                    if key == "service.name" { service = value }
                }
            case 2:  // ScopeSpans
                var scope = try field.message("scope_spans")
                while let scopeField = try scope.next() {
                    // ScopeSpans.spans = 2 (1 is the instrumentation scope)
                    if scopeField.number == 2 { spans.append(try span(scopeField.message("span"))) }
                }
            default:
                continue
            }
        }
        // The resource may come after the spans on the wire.
        for index in spans.indices { spans[index].service = service }
        return spans
    }

    static func span(_ reader: ProtobufReader) throws -> OTLPSpan {
        var reader = reader
        var traceID: [UInt8] = []
        var spanID: [UInt8] = []
        var parentSpanID: [UInt8] = []
        var span = OTLPSpan(service: "", traceID: "", spanID: "", name: "")
        while let field = try reader.next() {
            switch field.number {
            case 1: traceID = try field.bytes("trace_id")
            case 2: spanID = try field.bytes("span_id")
            case 4: parentSpanID = try field.bytes("parent_span_id")
            case 5: span.name = try field.string("name")
            case 6:
                let raw = try field.varint("kind")
                span.kind = Int(exactly: raw).flatMap(OTLPSpan.Kind.init(rawValue:)) ?? .unspecified
            case 9:
                let (key, value) = try keyValue(field.message("attribute"))
                span.attributes[key] = value
            case 13: span.links.append(try link(field.message("link")))
            case 15:
                var status = try field.message("status")
                while let statusField = try status.next() {
                    // Status.code = 3, an int32 enum (a negative one is sign-extended to 64 bits).
                    if statusField.number == 3 { span.statusCode = Int(truncatingIfNeeded: Int64(bitPattern: try statusField.varint("status code"))) }
                }
            default:
                continue
            }
        }
        guard traceID.count == 16 else { throw OTLPDecodeError("span \"\(span.name)\": trace_id has \(traceID.count) bytes, not 16") }
        guard spanID.count == 8 else { throw OTLPDecodeError("span \"\(span.name)\": span_id has \(spanID.count) bytes, not 8") }
        guard parentSpanID.isEmpty || parentSpanID.count == 8 else {
            throw OTLPDecodeError("span \"\(span.name)\": parent_span_id has \(parentSpanID.count) bytes, not 0 or 8")
        }
        span.traceID = hex(traceID)
        span.spanID = hex(spanID)
        span.parentSpanID = parentSpanID.isEmpty ? nil : hex(parentSpanID)
        return span
    }

    static func link(_ reader: ProtobufReader) throws -> OTLPLink {
        var reader = reader
        var traceID: [UInt8] = []
        var spanID: [UInt8] = []
        while let field = try reader.next() {
            switch field.number {
            case 1: traceID = try field.bytes("link trace_id")
            case 2: spanID = try field.bytes("link span_id")
            default: continue
            }
        }
        guard traceID.count == 16, spanID.count == 8 else {
            throw OTLPDecodeError("link: trace_id has \(traceID.count) bytes and span_id \(spanID.count), not 16 and 8")
        }
        return OTLPLink(traceID: hex(traceID), spanID: hex(spanID))
    }

    static func keyValue(_ reader: ProtobufReader, depth: Int = 0) throws -> (String, String) {
        var reader = reader
        var key = ""
        var value = ""
        while let field = try reader.next() {
            switch field.number {
            case 1: key = try field.string("key")
            case 2: value = try anyValue(field.message("value"), depth: depth)
            default: continue
            }
        }
        return (key, value)
    }

    /// Arrays and key-value lists nest; a hostile request must not exhaust the stack.
    static let maximumDepth = 16

    static func anyValue(_ reader: ProtobufReader, depth: Int) throws -> String {
        guard depth < maximumDepth else { throw OTLPDecodeError("attribute values nested deeper than \(maximumDepth)") }
        var reader = reader
        var text = ""
        while let field = try reader.next() {
            switch field.number {
            case 1: text = try field.string("string_value")
            case 2: text = try field.varint("bool_value") != 0 ? "true" : "false"
            case 3: text = String(Int64(bitPattern: try field.varint("int_value")))
            case 4: text = String(Double(bitPattern: try field.fixed64("double_value")))
            case 5:
                // ArrayValue.values = 1
                var array = try field.message("array_value")
                var values: [String] = []
                while let element = try array.next() {
                    if element.number == 1 { values.append(try anyValue(element.message("array element"), depth: depth + 1)) }
                }
                text = "[" + values.joined(separator: ", ") + "]"
            case 6:
                // KeyValueList.values = 1
                var list = try field.message("kvlist_value")
                var pairs: [String] = []
                while let element = try list.next() {
                    guard element.number == 1 else { continue }
                    let (key, value) = try keyValue(element.message("kvlist element"), depth: depth + 1)
                    pairs.append("\(key): \(value)")
                }
                text = "{" + pairs.joined(separator: ", ") + "}"
            case 7: text = hex(try field.bytes("bytes_value"))
            default: continue
            }
        }
        return text
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        var text = String.UnicodeScalarView()
        for byte in bytes {
            // Both indices are below 16 by construction, and `digits` has 16 elements.
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(text)
    }
}

/// Reads protobuf fields from `bytes[start..<end]`. A nested message is a reader over a narrower
/// range of the same array (no copy).
struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case lengthDelimited(ProtobufReader)
        case fixed32(UInt32)
    }

    struct Field {
        let number: Int
        let value: Value

        func message(_ name: String) throws -> ProtobufReader {
            guard case .lengthDelimited(let reader) = value else { throw wrongType(name, "length-delimited") }
            return reader
        }

        func bytes(_ name: String) throws -> [UInt8] {
            try message(name).remaining
        }

        func string(_ name: String) throws -> String {
            guard let text = String(validating: try bytes(name), as: UTF8.self) else {
                throw OTLPDecodeError("field \(number) (\(name)) is not valid UTF-8")
            }
            return text
        }

        func varint(_ name: String) throws -> UInt64 {
            guard case .varint(let raw) = value else { throw wrongType(name, "varint") }
            return raw
        }

        func fixed64(_ name: String) throws -> UInt64 {
            guard case .fixed64(let raw) = value else { throw wrongType(name, "fixed64") }
            return raw
        }

        private func wrongType(_ name: String, _ expected: String) -> OTLPDecodeError {
            OTLPDecodeError("field \(number) (\(name)) is \(value.wireName), not \(expected)")
        }
    }

    private let bytes: [UInt8]
    private var position: Int
    private let end: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.position = 0
        self.end = bytes.count
    }

    private init(bytes: [UInt8], start: Int, end: Int) {
        self.bytes = bytes
        self.position = start
        self.end = end
    }

    /// The unread bytes.
    var remaining: [UInt8] {
        guard position < end, end <= bytes.count else { return [] }
        return Array(bytes[position..<end])
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws -> Field? {
        guard position < end else { return nil }
        let tag = try varint()
        let number = tag >> 3
        guard number >= 1, number <= 0x1FFF_FFFF else { throw OTLPDecodeError("field number \(number) at byte \(position)") }
        let value: Value
        switch tag & 7 {
        case 0:
            value = .varint(try varint())
        case 1:
            value = .fixed64(try fixed(8))
        case 2:
            let length = try varint()
            // Compared as UInt64 before any conversion: a length near 2^64 cannot wrap.
            guard length <= UInt64(end - position) else {
                throw OTLPDecodeError("field \(number): length \(length) runs past the end (\(end - position) bytes left)")
            }
            let start = position
            position += Int(length)
            value = .lengthDelimited(ProtobufReader(bytes: bytes, start: start, end: position))
        case 5:
            value = .fixed32(UInt32(truncatingIfNeeded: try fixed(4)))
        case let wireType:
            throw OTLPDecodeError("field \(number): wire type \(wireType) (groups and 6/7 are not protobuf 3)")
        }
        return Field(number: Int(number), value: value)
    }

    /// A base-128 varint of at most 10 bytes whose value fits in 64 bits.
    private mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        for index in 0..<10 {
            guard position < end, position < bytes.count else { throw OTLPDecodeError("truncated varint at byte \(position)") }
            let byte = bytes[position]
            position += 1
            // The tenth byte carries bit 63 only.
            if index == 9 && byte > 1 { throw OTLPDecodeError("varint overflows 64 bits at byte \(position - 1)") }
            result |= UInt64(byte & 0x7f) << (7 * index)
            if byte & 0x80 == 0 { return result }
        }
        throw OTLPDecodeError("varint longer than 10 bytes at byte \(position)")
    }

    /// A little-endian fixed-size integer of `size` (4 or 8) bytes.
    private mutating func fixed(_ size: Int) throws -> UInt64 {
        guard end - position >= size, end <= bytes.count else { throw OTLPDecodeError("truncated fixed\(size * 8) at byte \(position)") }
        var result: UInt64 = 0
        for index in 0..<size { result |= UInt64(bytes[position + index]) << (8 * index) }
        position += size
        return result
    }
}

extension ProtobufReader.Value {
    var wireName: String {
        switch self {
        case .varint: "varint"
        case .fixed64: "fixed64"
        case .lengthDelimited: "length-delimited"
        case .fixed32: "fixed32"
        }
    }
}

/// An OTLP/HTTP trace collector for tests, on a loopback port chosen by the kernel: accepts
/// `POST /v1/traces` with an `application/x-protobuf` body (uncompressed), keeps the spans, and
/// answers 200 with an empty `ExportTraceServiceResponse`. A request it cannot take (wrong content
/// type, compressed, undecodable) gets 4xx and is remembered in `failures`, so a test can check
/// there were none.
///
///     try await OTLPReceiver.run { receiver in
///         // start processes with OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint ...
///         let spans = try await receiver.waitForSpans(timeout: .seconds(30)) { $0.count >= 3 }
///     }
public final class OTLPReceiver: Sendable {
    /// Larger than any batch an exporter sends.
    public static let maximumBodySize = 8 << 20

    private let received = Mutex<[OTLPSpan]>([])
    private let rejected = Mutex<[String]>([])
    private let boundPort = Atomic<Int>(0)

    public init() {}

    /// Runs a receiver for the duration of `body`, then shuts it down gracefully, whatever `body` did.
    public static func run<T: Sendable>(_ body: @Sendable (OTLPReceiver) async throws -> T) async throws -> T {
        let receiver = OTLPReceiver()
        let signal = PortSignal()
        return try await LiveServer.run(receiver.application(onServerRunning: signal.callback), port: signal) { _ in
            try await body(receiver)
        }
    }

    /// The port it listens on (0 until it runs).
    public var port: Int { boundPort.load(ordering: .acquiring) }

    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it (the exporter appends `/v1/traces`).
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    /// The full URL for `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, which is used as is.
    public var tracesEndpoint: String { endpoint + "/v1/traces" }

    /// Every span received so far, in arrival order.
    public var spans: [OTLPSpan] { received.withLock { $0 } }

    /// Why requests were turned away, in order.
    public var failures: [String] { rejected.withLock { $0 } }

    /// How many requests were turned away.
    public var decodeFailures: Int { rejected.withLock { $0.count } }

    /// For `LiveServer.run`, when a test runs the receiver with other servers.
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.post("/v1/traces") { [self] request, _ -> Response in
            try await receive(request)
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.store(port, ordering: .releasing)
                await onServerRunning(port)
            },
            logger: testLogger("otlp")
        )
    }

    func receive(_ request: Request) async throws -> Response {
        var request = request
        let contentType = request.headers[.contentType] ?? ""
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard mediaType == "application/x-protobuf" else {
            return reject(.unsupportedMediaType, "Content-Type \"\(contentType)\", not application/x-protobuf")
        }
        if let encoding = request.headers[.contentEncoding], encoding.lowercased() != "identity" {
            return reject(.unsupportedMediaType, "Content-Encoding \"\(encoding)\" (the receiver takes uncompressed bodies only)")
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Self.maximumBodySize)
        } catch {
            return reject(.contentTooLarge, "body over \(Self.maximumBodySize) bytes or cut short: \(error)")
        }
        let bytes = Array(body.readableBytesView)
        do {
            let spans = try OTLPDecoder.spans(fromExportRequest: bytes)
            received.withLock { $0 += spans }
        } catch {
            return reject(.badRequest, "\(bytes.count)-byte body does not decode: \(error)")
        }
        // An empty ExportTraceServiceResponse: full success. Exporters check the content type.
        return Response(status: .ok, headers: [.contentType: "application/x-protobuf"], body: .init())
    }

    private func reject(_ status: HTTPResponse.Status, _ reason: String) -> Response {
        rejected.withLock { $0.append(reason) }
        return Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: reason + "\n"))
        )
    }

    /// Polls every 50 ms until `predicate` holds for the spans received so far, and returns them;
    /// on timeout, throws an error listing every span and rejected request.
    public func waitForSpans(timeout: Duration = .seconds(30), until predicate: ([OTLPSpan]) -> Bool) async throws -> [OTLPSpan] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = spans
            if predicate(current) { return current }
            guard ContinuousClock.now < deadline else {
                throw OTLPReceiverError(timeout: timeout, spans: current, failures: failures)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

public struct OTLPReceiverError: Error, CustomStringConvertible {
    public let timeout: Duration
    public let spans: [OTLPSpan]
    public let failures: [String]

    public var description: String {
        var lines = ["OTLP receiver: spans did not satisfy the condition within \(timeout); \(spans.count) received:"]
        lines += spans.map { "  " + $0.description }
        if !failures.isEmpty {
            lines.append("\(failures.count) request(s) rejected:")
            lines += failures.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }
}
