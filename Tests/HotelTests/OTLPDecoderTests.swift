import PortierTestSupport
import Testing

/// The test OTLP receiver's protobuf reader, on requests encoded here by hand, and the receiver
/// itself over HTTP. The tracing end-to-end test trusts what it reports.
@Suite struct OTLPDecoderTests {
    /// Just enough of a protobuf encoder to build requests field by field.
    struct Writer {
        var bytes: [UInt8] = []

        static func message(_ build: (inout Writer) -> Void) -> [UInt8] {
            var writer = Writer()
            build(&writer)
            return writer.bytes
        }

        mutating func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                bytes.append(UInt8(value & 0x7f) | 0x80)
                value >>= 7
            }
            bytes.append(UInt8(value))
        }

        mutating func tag(_ field: Int, _ wireType: Int) {
            varint(UInt64(field << 3 | wireType))
        }

        mutating func field(_ number: Int, varint value: UInt64) {
            tag(number, 0)
            varint(value)
        }

        mutating func field(_ number: Int, fixed64 value: UInt64) {
            tag(number, 1)
            for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
        }

        mutating func field(_ number: Int, fixed32 value: UInt32) {
            tag(number, 5)
            for index in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
        }

        mutating func field(_ number: Int, bytes value: [UInt8]) {
            tag(number, 2)
            varint(UInt64(value.count))
            bytes += value
        }

        mutating func field(_ number: Int, string value: String) {
            field(number, bytes: Array(value.utf8))
        }

        mutating func field(_ number: Int, message build: (inout Writer) -> Void) {
            field(number, bytes: Writer.message(build))
        }

        /// A KeyValue (key = 1, value = 2) whose AnyValue is built by `value`.
        mutating func attribute(_ number: Int, _ key: String, _ value: (inout Writer) -> Void) {
            field(number) { keyValue in
                keyValue.field(1, string: key)
                keyValue.field(2, message: value)
            }
        }
    }

    static let traceA: [UInt8] = Array(0x01...0x10)
    static let traceB: [UInt8] = [0xde, 0xad, 0xbe, 0xef] + Array(repeating: 0, count: 11) + [0xff]
    static let root: [UInt8] = [0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xa0, 0xff]
    static let child: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 1]
    static let linked: [UInt8] = [0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10]

    /// An ExportTraceServiceRequest with one resource ("books"), one scope and two spans, the
    /// second a child of the first. With `unknown`, fields no OTLP version defines are sprinkled
    /// through every level.
    static func request(unknown: Bool = false) -> [UInt8] {
        Writer.message { request in
            if unknown { request.field(99, varint: 7) }
            request.field(1) { resourceSpans in
                resourceSpans.field(1) { resource in
                    resource.attribute(1, "telemetry.sdk.language") { $0.field(1, string: "swift") }
                    if unknown { resource.field(97, bytes: [1, 2, 3]) }
                    resource.attribute(1, "service.name") { $0.field(1, string: "books") }
                    resource.field(2, varint: 0)  // dropped_attributes_count
                }
                resourceSpans.field(2) { scopeSpans in
                    scopeSpans.field(1) { scope in
                        scope.field(1, string: "portier")
                        scope.field(2, string: "1.0")
                    }
                    scopeSpans.field(2) { span in
                        span.field(1, bytes: traceA)
                        span.field(2, bytes: root)
                        span.field(3, string: "")
                        span.field(5, string: "POST /books")
                        span.field(6, varint: 1)
                        span.field(7, fixed64: 1_700_000_000_000_000_000)
                        span.field(8, fixed64: 1_700_000_000_250_000_000)
                        if unknown {
                            span.field(99, varint: 123_456_789)
                            span.field(98, fixed32: 0xdead_beef)
                        }
                        span.field(15) { _ in }  // an empty Status: code unset
                        span.field(16, fixed32: 0x100)
                    }
                    scopeSpans.field(2) { span in
                        if unknown { span.field(98, fixed32: 1) }
                        span.field(1, bytes: traceA)
                        span.field(2, bytes: child)
                        span.field(4, bytes: root)
                        span.field(5, string: "books.create")
                        span.field(6, varint: 2)
                        span.field(7, fixed64: 1_700_000_000_010_000_000)
                        span.field(8, fixed64: 1_700_000_000_200_000_000)
                        span.attribute(9, "http.response.status_code") { $0.field(3, varint: 201) }
                        span.attribute(9, "http.request.method") { $0.field(1, string: "POST") }
                        span.attribute(9, "retry.delta") { $0.field(3, varint: UInt64(bitPattern: -5)) }
                        span.attribute(9, "cache.hit") { $0.field(2, varint: 1) }
                        span.attribute(9, "load") { $0.field(4, fixed64: (0.5 as Double).bitPattern) }
                        span.attribute(9, "tags") { value in
                            value.field(5) { array in
                                array.field(1) { $0.field(1, string: "a") }
                                array.field(1) { $0.field(3, varint: 2) }
                            }
                        }
                        span.field(10, varint: 0)
                        span.field(11) { event in
                            event.field(1, fixed64: 1_700_000_000_020_000_000)
                            event.field(2, string: "exception")
                        }
                        span.field(13) { link in
                            link.field(1, bytes: traceB)
                            link.field(2, bytes: linked)
                            link.field(3, string: "")
                            link.attribute(4, "reason") { $0.field(1, string: "event") }
                        }
                        if unknown { span.field(99, varint: UInt64.max) }
                        span.field(15) { status in
                            status.field(2, string: "insert failed")
                            status.field(3, varint: 2)
                        }
                        span.field(16, fixed32: 0x301)
                    }
                }
                resourceSpans.field(3, string: "https://opentelemetry.io/schemas/1.26.0")
            }
        }
    }

    static let expected = [
        OTLPSpan(
            service: "books", traceID: "0102030405060708090a0b0c0d0e0f10", spanID: "0a0b0c0d0e0fa0ff", name: "POST /books", kind: .internal
        ),
        OTLPSpan(
            service: "books", traceID: "0102030405060708090a0b0c0d0e0f10", spanID: "0000000000000001", parentSpanID: "0a0b0c0d0e0fa0ff",
            name: "books.create", kind: .server,
            attributes: [
                "http.response.status_code": "201", "http.request.method": "POST", "retry.delta": "-5", "cache.hit": "true", "load": "0.5",
                "tags": "[a, 2]",
            ],
            links: [OTLPLink(traceID: "deadbeef0000000000000000000000ff", spanID: "fedcba9876543210")],
            statusCode: 2
        ),
    ]

    @Test func decodesARequest() throws {
        let spans = try OTLPDecoder.spans(fromExportRequest: Self.request())
        #expect(spans == Self.expected)
        #expect(spans.count == 2)
        #expect(spans.last?.parentSpanID == "0a0b0c0d0e0fa0ff")
        #expect(spans.last?.attributes["http.response.status_code"] == "201")
        #expect(spans.last?.kind == .server)
        #expect(spans.last?.statusCode == 2)
        #expect(try OTLPDecoder.spans(fromExportRequest: []) == [])
    }

    @Test func skipsUnknownFields() throws {
        let plain = Self.request()
        let sprinkled = Self.request(unknown: true)
        #expect(sprinkled.count > plain.count)
        #expect(try OTLPDecoder.spans(fromExportRequest: sprinkled) == Self.expected)
    }

    @Test func unknownKindAndMissingServiceName() throws {
        let bytes = Writer.message { request in
            request.field(1) { resourceSpans in
                resourceSpans.field(2) { scopeSpans in
                    scopeSpans.field(2) { span in
                        span.field(1, bytes: Self.traceA)
                        span.field(2, bytes: Self.root)
                        span.field(4, bytes: [])
                        span.field(6, varint: 9)
                    }
                }
            }
        }
        let spans = try OTLPDecoder.spans(fromExportRequest: bytes)
        #expect(spans == [OTLPSpan(service: "", traceID: "0102030405060708090a0b0c0d0e0f10", spanID: "0a0b0c0d0e0fa0ff", name: "")])
    }

    @Test func rejectsTruncatedInput() {
        let bytes = Self.request()
        // Everything is inside the one resource_spans field, so every proper prefix but the empty
        // one ends inside it.
        var decoded: [Int] = []
        for length in 1..<bytes.count where (try? OTLPDecoder.spans(fromExportRequest: Array(bytes.prefix(length)))) != nil {
            decoded.append(length)
        }
        #expect(decoded == [])
        // A varint whose continuation bit promises a byte that is not there.
        #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: [0x08, 0x80]) }
        // A tag cut short.
        #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: [0x80]) }
        // A fixed64 and a fixed32 with bytes missing.
        #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: [0x09, 1, 2, 3, 4, 5, 6, 7]) }
        #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: [0x0d, 1, 2, 3]) }
    }

    @Test func rejectsLengthsPastTheEnd() {
        // resource_spans claims 5 bytes; 1 follows.
        #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: [0x0a, 0x05, 0x00]) }
        // An unknown field's length past the end is as bad: it cannot be skipped.
        #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: [0xba, 0x06, 0x02, 0x00]) }
        // Lengths near 2^63 and 2^64 must not wrap around into something that looks in range.
        for length in [UInt64.max, UInt64(Int.max), UInt64(Int.max) + 1] {
            var writer = Writer()
            writer.tag(1, 2)
            writer.varint(length)
            writer.bytes += [0, 0, 0]
            #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: writer.bytes) }
        }
        // A nested length past the end of its parent, though not of the whole input.
        let nested: [UInt8] = [0x0a, 0x02, 0x12, 0x05] + Array(repeating: 0x00, count: 8)
        #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: nested) }
    }

    @Test func rejectsOverlongVarintsAndUnusedWireTypes() throws {
        // Varints in an unknown field (99, wire type 0: tag 0x98 0x06), so only their length matters.
        let tag99: [UInt8] = [0x98, 0x06]
        // Eleven bytes; ten is the most a 64-bit value takes.
        #expect(throws: OTLPDecodeError.self) {
            try OTLPDecoder.spans(fromExportRequest: tag99 + Array(repeating: 0x80, count: 10) + [0x01])
        }
        // Ten bytes whose last carries more than bit 63.
        #expect(throws: OTLPDecodeError.self) {
            try OTLPDecoder.spans(fromExportRequest: tag99 + Array(repeating: 0xff, count: 9) + [0x02])
        }
        // UInt64.max in ten bytes is fine, and skipped.
        #expect(try OTLPDecoder.spans(fromExportRequest: tag99 + Array(repeating: 0xff, count: 9) + [0x01]) == [])
        // An overlong tag.
        #expect(throws: OTLPDecodeError.self) {
            try OTLPDecoder.spans(fromExportRequest: Array(repeating: 0x80, count: 10) + [0x08, 0x00])
        }
        // Groups (3, 4) and the undefined 6 and 7, even in a field that would be skipped.
        for wireType: UInt8 in [3, 4, 6, 7] {
            #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: [0x98 | wireType, 0x06, 0, 0, 0, 0, 0, 0, 0, 0]) }
        }
        // Field number 0 does not exist.
        #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: [0x00, 0x00]) }
        // A known field with the wrong wire type: resource_spans as a varint.
        #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: [0x08, 0x01]) }
    }

    @Test func rejectsMalformedSpans() {
        func request(_ build: @escaping (inout Writer) -> Void) -> [UInt8] {
            Writer.message { request in
                request.field(1) { resourceSpans in resourceSpans.field(2) { scopeSpans in scopeSpans.field(2, message: build) } }
            }
        }
        // A trace ID of 15 bytes; a span ID missing; a parent of 4 bytes; a name that is not UTF-8.
        #expect(throws: OTLPDecodeError.self) {
            try OTLPDecoder.spans(
                fromExportRequest: request {
                    $0.field(1, bytes: Array(Self.traceA.prefix(15))); $0.field(2, bytes: Self.root)
                })
        }
        #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: request { $0.field(1, bytes: Self.traceA) }) }
        #expect(throws: OTLPDecodeError.self) {
            try OTLPDecoder.spans(
                fromExportRequest: request {
                    $0.field(1, bytes: Self.traceA)
                    $0.field(2, bytes: Self.root)
                    $0.field(4, bytes: [1, 2, 3, 4])
                })
        }
        #expect(throws: OTLPDecodeError.self) {
            try OTLPDecoder.spans(
                fromExportRequest: request {
                    $0.field(1, bytes: Self.traceA)
                    $0.field(2, bytes: Self.root)
                    $0.field(5, bytes: [0xc3, 0x28])
                })
        }
    }

    @Test func rejectsDeeplyNestedValues() {
        // An attribute value of arrays within arrays, 1000 deep: an error, not a stack overflow.
        var value = Writer.message { $0.field(1, string: "bottom") }
        for _ in 0..<1000 {
            let inner = value
            value = Writer.message { anyValue in anyValue.field(5) { array in array.field(1, bytes: inner) } }
        }
        let bytes = Writer.message { request in
            request.field(1) { resourceSpans in
                resourceSpans.field(1) { resource in
                    resource.field(1) { keyValue in
                        keyValue.field(1, string: "deep")
                        keyValue.field(2, bytes: value)
                    }
                }
            }
        }
        let error = #expect(throws: OTLPDecodeError.self) { try OTLPDecoder.spans(fromExportRequest: bytes) }
        #expect(error?.description.contains("nested deeper") == true, "\(String(describing: error))")
    }

    @Test func receiverCollectsSpansOverHTTP() async throws {
        let body = Self.request()
        try await OTLPReceiver.run { receiver in
            #expect(receiver.port > 0)
            #expect(receiver.endpoint == "http://127.0.0.1:\(receiver.port)")
            let response = try await HTTP.request(
                .POST, receiver.endpoint + "/v1/traces", headers: [("Content-Type", "application/x-protobuf")], body: body
            )
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("Content-Type") == "application/x-protobuf")
            #expect(response.body.isEmpty)
            let spans = try await receiver.waitForSpans(timeout: .seconds(10)) { $0.count >= 2 }
            #expect(spans == Self.expected)
            #expect(receiver.decodeFailures == 0)

            // A second batch adds to the first.
            _ = try await HTTP.request(.POST, receiver.tracesEndpoint, headers: [("Content-Type", "application/x-protobuf")], body: body)
            #expect(try await receiver.waitForSpans(timeout: .seconds(10)) { $0.count == 4 }.count == 4)
            #expect(receiver.failures == [])
        }
    }

    @Test func receiverRejectsWhatItCannotDecode() async throws {
        try await OTLPReceiver.run { receiver in
            let garbage = try await HTTP.request(
                .POST, receiver.tracesEndpoint, headers: [("Content-Type", "application/x-protobuf")], body: [0x0a, 0xff, 0x01, 0x02]
            )
            #expect(garbage.status == 400)
            #expect(receiver.decodeFailures == 1)

            let json = try await HTTP.request(.POST, receiver.tracesEndpoint, headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
            #expect(json.status == 415)
            #expect(receiver.decodeFailures == 2)
            #expect(receiver.spans == [])

            // On timeout, the error names what arrived and what was rejected.
            do {
                _ = try await receiver.waitForSpans(timeout: .milliseconds(200)) { !$0.isEmpty }
                Issue.record("waitForSpans returned without spans")
            } catch let error as OTLPReceiverError {
                #expect(error.description.contains("0 received"))
                #expect(error.description.contains("does not decode"))
                #expect(error.description.contains("application/json"))
            }
        }
    }
}
