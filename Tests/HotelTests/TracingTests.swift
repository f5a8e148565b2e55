import Foundation
import PortierTestSupport
import Testing

/// W3C trace context through the whole hotel, with real processes: the gateway, books, payments
/// and every consumer of a booking's events write the trace of the request that caused them.
@Suite("Tracing across services and events")
struct TracingTests {
    /// A client's `traceparent`: a random trace and a parent span of the client's own.
    static func clientTrace() -> (traceID: String, parentID: String, header: String) {
        let traceID = hex(UInt64.random(in: 1...UInt64.max)) + hex(UInt64.random(in: 1...UInt64.max))
        let parentID = hex(UInt64.random(in: 1...UInt64.max))
        return (traceID, parentID, "00-\(traceID)-\(parentID)-01")
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The first JSON line of `process` that `matches`, waiting for it.
    static func line(
        of name: String, in hotel: HotelStack, timeout: Duration = .seconds(60), where matches: ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        guard let process = hotel.processes[name] else { throw ChildProcessError("no process \(name)") }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for line in process.lines {
                if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], matches(object) { return object }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ChildProcessError("\(name) wrote no such line within \(timeout); last lines: \(process.lines.suffix(8))")
    }

    @Test("one booking's log lines share the client's trace: gateway, books, payments and each consumer of its events")
    func bookingLogLinesShareTheClientsTrace() async throws {
        try await HotelStack.run(environment: ["LOG_LEVEL": "debug"]) { hotel in
            let room = try await hotel.registerRoom()
            let client = Self.clientTrace()
            let booked = try await hotel.book(room: room, guest: 7, nightsFromNow: 3, headers: [("traceparent", client.header)])
            #expect(booked.status == 201, "\(booked.text)")

            func inTrace(_ line: [String: Any]) -> Bool { line["trace_id"] as? String == client.traceID }
            // The helper retries while books has not seen the room yet (404): the booking is the 201.
            let gateway = try await Self.line(of: "gateway", in: hotel) {
                inTrace($0) && $0["path"] as? String == "/books" && $0["status"] as? Int == 201
            }
            let gatewaySpan = try #require(gateway["span_id"] as? String)
            #expect(gatewaySpan != client.parentID, "the gateway's span is its own, not the client's")
            #expect(gatewaySpan.count == 16)

            let books = try await Self.line(of: "books", in: hotel) {
                inTrace($0) && $0["msg"] as? String == "request" && $0["method"] as? String == "POST" && $0["status"] as? Int == 201
            }
            let payments = try await Self.line(of: "payments", in: hotel) {
                inTrace($0) && $0["msg"] as? String == "request" && $0["method"] as? String == "POST"
            }
            #expect(payments["status"] as? Int == 201)
            let spans = Set([gatewaySpan, books["span_id"] as? String, payments["span_id"] as? String, client.parentID].compactMap { $0 })
            #expect(spans.count == 4, "every hop has a span of its own: \(spans)")

            // Every consumer of the booking's events handled them in the booking's trace.
            for (service, type) in [
                ("rooms", "Booked"), ("mypages", "Booked"), ("notifications", "Booked"), ("mypages", "PaymentApproved"),
                ("notifications", "PaymentApproved"),
            ] {
                let handled = try await Self.line(of: service, in: hotel) {
                    inTrace($0) && $0["msg"] as? String == "handled event" && $0["event_type"] as? String == type
                }
                #expect((handled["span_id"] as? String).map { !spans.contains($0) } == true, "\(service) handles \(type) in a span of its own")
            }
            // Delivered later by notifications' worker, still in the booking's trace.
            let sent = try await Self.line(of: "notifications", in: hotel) { inTrace($0) && $0["msg"] as? String == "notification sent" }
            #expect(sent["recipient"] != nil)

            // Without a client traceparent the gateway starts the trace, and the service continues it.
            let read = try await hotel.get("/rooms/\(room)")
            #expect(read.status == 200)
            let started = try await Self.line(of: "gateway", in: hotel) {
                $0["path"] as? String == "/rooms/\(room)" && $0["method"] as? String == "GET"
            }
            let traceID = try #require(started["trace_id"] as? String)
            #expect(traceID.count == 32 && traceID != client.traceID)
            let served = try await Self.line(of: "rooms", in: hotel) {
                $0["msg"] as? String == "request" && $0["path"] as? String == "/rooms/\(room)" && $0["method"] as? String == "GET"
            }
            #expect(served["trace_id"] as? String == traceID)
        }
    }
}

/// Spans exported over OTLP/HTTP by every process, into a real receiver (the test's own, which
/// decodes the protobuf the way a collector would).
@Suite("Tracing exported over OTLP")
struct OTLPExportTests {
    @Test("one booking is one trace: gateway, books, payments and each consumer, correctly parented")
    func oneBookingIsOneTraceWithEveryServiceCorrectlyParented() async throws {
        try await OTLPReceiver.run { receiver in
            // Spans leave each process within 100 ms instead of the default 5 s.
            let environment = ["OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"]
            try await HotelStack.run(environment: environment) { hotel in
                let room = try await hotel.registerRoom()
                let client = TracingTests.clientTrace()
                let booked = try await hotel.book(room: room, guest: 9, nightsFromNow: 5, headers: [("traceparent", client.header)])
                #expect(booked.status == 201, "\(booked.text)")

                // Each process sends its spans on its own schedule: wait until every one has arrived.
                let expected: [(String, OTLPSpan.Kind, String)] = [
                    ("gateway", .server, "POST books"), ("books", .server, "POST /books"), ("books", .client, "POST"),
                    ("payments", .server, "POST /payments"), ("books", .producer, "create Booked"),
                    ("payments", .producer, "create PaymentApproved"), ("rooms", .consumer, "process Booked"),
                    ("mypages", .consumer, "process Booked"), ("notifications", .consumer, "process Booked"),
                    ("mypages", .consumer, "process PaymentApproved"), ("notifications", .consumer, "process PaymentApproved"),
                    ("notifications", .internal, "deliver log"),
                ]
                let spans = try await receiver.waitForSpans(timeout: .seconds(60)) { spans in
                    expected.allSatisfy { service, kind, name in
                        spans.contains { $0.traceID == client.traceID && $0.service == service && $0.kind == kind && $0.name == name }
                    }
                }.filter { $0.traceID == client.traceID }
                #expect(receiver.decodeFailures == 0, "\(receiver.failures)")
                let byID = Dictionary(spans.map { ($0.spanID, $0) }, uniquingKeysWith: { first, _ in first })
                func parent(of span: OTLPSpan) -> OTLPSpan? { span.parentSpanID.flatMap { byID[$0] } }
                func only(_ service: String, _ kind: OTLPSpan.Kind, named name: String? = nil) throws -> OTLPSpan {
                    let found = spans.filter { $0.service == service && $0.kind == kind && (name == nil || $0.name == name) }
                    guard found.count == 1, let span = found.first else {
                        throw ChildProcessError(
                            "expected one \(service) \(kind) span \(name ?? ""), found \(found.count) in \(TraceTree.render(spans))")
                    }
                    return span
                }

                // Booking rides the gateway's 201 (the helper's retries before the room was known are other spans).
                let gateway = try #require(
                    spans.first { $0.service == "gateway" && $0.kind == .server && $0.attributes["http.response.status_code"] == "201" })
                #expect(gateway.parentSpanID == client.parentID, "the gateway continues the client's trace under the client's span")
                #expect(gateway.name == "POST books")
                let books = try #require(spans.first { $0.service == "books" && $0.kind == .server && $0.parentSpanID == gateway.spanID })
                let payments = try only("payments", .server)
                let call = try #require(parent(of: payments), "payments' parent span was exported")
                #expect(call.service == "books" && call.kind == .client, "books called payments: \(call)")
                #expect(call.parentSpanID == books.spanID)

                let createBooked = try only("books", .producer, named: "create Booked")
                #expect(createBooked.parentSpanID == books.spanID)
                let createApproved = try only("payments", .producer, named: "create PaymentApproved")
                #expect(createApproved.parentSpanID == payments.spanID)

                for (service, creation) in [
                    ("rooms", createBooked), ("mypages", createBooked), ("notifications", createBooked),
                    ("mypages", createApproved), ("notifications", createApproved),
                ] {
                    let type = creation.name.replacingOccurrences(of: "create ", with: "")
                    let process = try only(service, .consumer, named: "process \(type)")
                    #expect(process.parentSpanID == creation.spanID, "\(service) handles \(type) under its creation")
                    #expect(
                        process.links == [OTLPLink(traceID: client.traceID, spanID: creation.spanID)],
                        "and links to it, as the messaging conventions ask")
                    #expect(process.attributes["messaging.consumer.group.name"] == service)
                    if service == "notifications" {
                        // Each notification it made is delivered later, under the span that made it.
                        let deliveries = try await receiver.waitForSpans(timeout: .seconds(60)) { spans in
                            spans.contains { $0.parentSpanID == process.spanID && $0.name == "deliver log" }
                        }
                        #expect(deliveries.contains { $0.parentSpanID == process.spanID && $0.service == "notifications" && $0.kind == .internal })
                    }
                }
                print(TraceTree.render(receiver.spans.filter { $0.traceID == client.traceID }))
            }
        }
    }
}

extension OTLPExportTests {
    /// swift-otel here speaks OTLP over HTTP only; asking for gRPC (or another propagation format)
    /// stops the start with the reason, instead of a process that exports nothing or traps.
    @Test(arguments: [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "only http/protobuf is supported"),
        ("OTEL_TRACES_EXPORTER", "zipkin", "only otlp (or none) is supported"),
        ("OTEL_PROPAGATORS", "b3", "only tracecontext is supported"),
        ("OTEL_TRACES_SAMPLER", "xray", "one of parentbased_always_on"),
    ])
    func anUnsupportedExportSettingStopsTheStartWithItsReason(variable: String, value: String, reason: String) async throws {
        try await TemporaryDirectory.with("otel") { dir in
            let process = try ChildProcess(
                ["serve", "rooms", "--port", "0", "--admin-port", "0", "--data-dir", dir.sub("data")],
                environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", variable: value]
            )
            #expect(try await process.waitForExit() == 64)
            #expect(process.lines.joined().contains("\(variable)=\(value): \(reason)"), "\(process.lines)")
        }
    }
}

/// A trace as an indented tree, for failure messages and the README's example.
enum TraceTree {
    static func render(_ spans: [OTLPSpan]) -> String {
        let ids = Set(spans.map(\.spanID))
        let children = Dictionary(grouping: spans) { span in span.parentSpanID.flatMap { ids.contains($0) ? $0 : nil } ?? "" }
        var lines: [String] = []
        func walk(_ parent: String, depth: Int) {
            for span in children[parent, default: []] {
                lines.append(String(repeating: "  ", count: depth) + "\(span.service) \(span.kind) \"\(span.name)\" \(span.spanID)")
                walk(span.spanID, depth: depth + 1)
            }
        }
        walk("", depth: 0)
        return lines.joined(separator: "\n")
    }
}
