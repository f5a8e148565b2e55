import PortierTracing
import Tracing

/// Trace context across events, after OpenTelemetry's messaging conventions: an event records the
/// context it was created in ("create <Type>", a PRODUCER span under the request that caused it),
/// and each consumer handles it in a "process <Type>" CONSUMER span parented to that context and
/// linked to it. A booking's notifications and mypage update thus belong to the booking's trace.
public enum EventTracing {
    /// The creation context of an event published by the code running now, or empty when it runs
    /// outside any trace.
    public static func creationContext(type: String, id: String, tracer: any Tracer = InstrumentationSystem.tracer) -> TraceHeaders {
        guard let current = ServiceContext.current else { return TraceHeaders() }
        let span = tracer.startSpan("create \(type)", context: current, ofKind: .producer)
        if span.isRecording {
            span.attributes = [
                "messaging.system": "portier", "messaging.operation.type": "create", "messaging.operation.name": "create",
                "messaging.destination.name": .string(type), "messaging.message.id": .string(id),
            ]
        }
        var headers = TraceHeaders()
        tracer.inject(span.context, into: &headers, using: TraceHeaders.Codec())
        span.end()
        return headers
    }

    /// The context of the code running now, to store with work that is done later on its behalf
    /// (a notification's delivery): empty outside any trace.
    public static func currentContext(tracer: any Tracer = InstrumentationSystem.tracer) -> TraceHeaders {
        guard let current = ServiceContext.current else { return TraceHeaders() }
        var headers = TraceHeaders()
        tracer.inject(current, into: &headers, using: TraceHeaders.Codec())
        return headers
    }

    /// Runs `body` in an INTERNAL span `name` under a context stored earlier with
    /// ``currentContext(tracer:)`` (a new trace when none was stored).
    public static func resume<T>(
        _ name: String, under stored: TraceHeaders, attributes: SpanAttributes = [:], tracer: any Tracer = InstrumentationSystem.tracer,
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws -> T {
        var parent = ServiceContext.topLevel
        if stored.traceParent != nil { tracer.extract(stored, into: &parent, using: TraceHeaders.Codec()) }
        let span = tracer.startSpan(name, context: parent, ofKind: .internal)
        if span.isRecording { span.attributes = attributes }
        return try await run(span, body)
    }

    /// Runs `body` in the CONSUMER span of one event's handling.
    public static func process<T>(
        type: String, id: String, group: String, position: Int64, creation: TraceHeaders, tracer: any Tracer = InstrumentationSystem.tracer,
        _ body: () throws -> T
    ) throws -> T {
        let span = consumerSpan(type: type, id: id, group: group, position: position, creation: creation, tracer: tracer)
        defer { span.end() }
        do {
            return try ServiceContext.$current.withValue(span.context) { try body() }
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// ``process(type:id:group:position:creation:tracer:_:)`` for handlers that wait.
    public static func process<T>(
        type: String, id: String, group: String, position: Int64, creation: TraceHeaders, tracer: any Tracer = InstrumentationSystem.tracer,
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws -> T {
        try await run(consumerSpan(type: type, id: id, group: group, position: position, creation: creation, tracer: tracer), body)
    }

    /// `body` with `span` as the current context; an error is recorded on the span. Ends the span.
    private static func run<T>(_ span: any Span, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async throws -> T {
        defer { span.end() }
        do {
            return try await ServiceContext.$current.withValue(span.context) { try await body() }
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    private static func consumerSpan(type: String, id: String, group: String, position: Int64, creation: TraceHeaders, tracer: any Tracer) -> any Span
    {
        var parent = ServiceContext.topLevel
        let linked = creation.traceParent != nil
        if linked { tracer.extract(creation, into: &parent, using: TraceHeaders.Codec()) }
        let span = tracer.startSpan("process \(type)", context: parent, ofKind: .consumer)
        if span.isRecording {
            span.attributes = [
                "messaging.system": "portier", "messaging.operation.type": "process", "messaging.operation.name": "process",
                "messaging.destination.name": .string(type), "messaging.message.id": .string(id),
                "messaging.consumer.group.name": .string(group), "portier.event.position": .int64(position),
            ]
            if linked { span.addLink(SpanLink(context: parent, attributes: [:])) }
        }
        return span
    }
}
