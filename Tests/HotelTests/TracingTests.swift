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
            let gateway = try await Self.line(of: "gateway", in: hotel) { inTrace($0) && $0["path"] as? String == "/books" && $0["status"] as? Int == 201 }
            let gatewaySpan = try #require(gateway["span_id"] as? String)
            #expect(gatewaySpan != client.parentID, "the gateway's span is its own, not the client's")
            #expect(gatewaySpan.count == 16)

            let books = try await Self.line(of: "books", in: hotel) {
                inTrace($0) && $0["msg"] as? String == "request" && $0["method"] as? String == "POST" && $0["status"] as? Int == 201
            }
            let payments = try await Self.line(of: "payments", in: hotel) { inTrace($0) && $0["msg"] as? String == "request" && $0["method"] as? String == "POST" }
            #expect(payments["status"] as? Int == 201)
            let spans = Set([gatewaySpan, books["span_id"] as? String, payments["span_id"] as? String, client.parentID].compactMap { $0 })
            #expect(spans.count == 4, "every hop has a span of its own: \(spans)")

            // Every consumer of the booking's events handled them in the booking's trace.
            for (service, type) in [("rooms", "Booked"), ("mypages", "Booked"), ("notifications", "Booked"), ("mypages", "PaymentApproved"), ("notifications", "PaymentApproved")] {
                let handled = try await Self.line(of: service, in: hotel) { inTrace($0) && $0["msg"] as? String == "handled event" && $0["event_type"] as? String == type }
                #expect((handled["span_id"] as? String).map { !spans.contains($0) } == true, "\(service) handles \(type) in a span of its own")
            }

            // Without a client traceparent the gateway starts the trace, and the service continues it.
            let read = try await hotel.get("/rooms/\(room)")
            #expect(read.status == 200)
            let started = try await Self.line(of: "gateway", in: hotel) { $0["path"] as? String == "/rooms/\(room)" && $0["method"] as? String == "GET" }
            let traceID = try #require(started["trace_id"] as? String)
            #expect(traceID.count == 32 && traceID != client.traceID)
            let served = try await Self.line(of: "rooms", in: hotel) { $0["msg"] as? String == "request" && $0["path"] as? String == "/rooms/\(room)" && $0["method"] as? String == "GET" }
            #expect(served["trace_id"] as? String == traceID)
        }
    }
}
