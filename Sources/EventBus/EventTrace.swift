import EventBusModel
import Logging
import PortierTelemetry

extension EventEnvelope {
    /// The trace context to store with the event: the one it carries, or else a new creation
    /// context under the code publishing it.
    var creationContext: TraceHeaders {
        traceParent == nil ? EventTracing.creationContext(type: type, id: id) : TraceHeaders(traceParent: traceParent, traceState: traceState)
    }
}

extension EventTracing {
    /// With `LOG_LEVEL=debug`, one line per event a consumer handles, in the event's trace.
    static let logger = Logger(label: "events")

    /// Runs a consumer's handler for `event` in its "process" span.
    static func process<T>(_ event: StoredEvent, group: String, _ body: () throws -> T) throws -> T {
        let envelope = event.envelope
        return try process(
            type: envelope.type, id: envelope.id, group: group, position: event.position,
            creation: TraceHeaders(traceParent: envelope.traceParent, traceState: envelope.traceState)
        ) {
            let result = try body()
            handled(event, group: group)
            return result
        }
    }

    static func process<T>(_ event: StoredEvent, group: String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T)
        async throws -> T
    {
        let envelope = event.envelope
        return try await process(
            type: envelope.type, id: envelope.id, group: group, position: event.position,
            creation: TraceHeaders(traceParent: envelope.traceParent, traceState: envelope.traceState)
        ) {
            let result = try await body()
            handled(event, group: group)
            return result
        }
    }

    private static func handled(_ event: StoredEvent, group: String) {
        logger.debug(
            "handled event",
            metadata: [
                "event_type": .string(event.envelope.type), "event_id": .string(event.envelope.id), "group": .string(group),
                "position": .stringConvertible(event.position),
            ]
        )
    }
}
