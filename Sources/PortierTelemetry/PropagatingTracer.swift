import Logging
import PortierTracing
import Synchronization
import Tracing

/// The span a piece of work runs in, as Portier's own tracer keeps it in a `ServiceContext`: the
/// trace, this span's id (the `parentID` of what it sends on), and the `tracestate` to pass along.
public struct PortierSpanContext: Sendable, Equatable {
    public var traceParent: TraceParent
    public var traceState: String?

    public init(traceParent: TraceParent, traceState: String? = nil) {
        self.traceParent = traceParent
        self.traceState = traceState
    }

    public var traceID: String { traceParent.traceID }
    public var spanID: String { TraceParent.hex(traceParent.parentID) }
}

public enum PortierSpanContextKey: ServiceContextKey {
    public typealias Value = PortierSpanContext
    public static var nameOverride: String? { "portier-span-context" }
}

extension ServiceContext {
    /// The span Portier's own tracer put here (nil under swift-otel's tracer, which keeps its own).
    public var portierSpan: PortierSpanContext? {
        get { self[PortierSpanContextKey.self] }
        set { self[PortierSpanContextKey.self] = newValue }
    }
}

/// W3C trace context without recording anything: what every Portier process runs when no OTLP
/// endpoint is configured. It continues an incoming `traceparent`, gives each span a new id, and
/// writes `traceparent`/`tracestate` onward, so trace ids reach every log line and every hop at the
/// cost of a few integer operations. Spans are not recorded and nothing is exported.
public struct PropagatingTracer: Tracer {
    public typealias Span = PropagatingSpan

    private final class Generator: Sendable {
        let ids = Mutex(TraceIDGenerator())
    }

    private let generator = Generator()

    public init() {}

    /// Starts from `seed` (tests that want to know the ids).
    public init(seed: UInt64) {
        generator.ids.withLock { $0 = TraceIDGenerator(seed: seed) }
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind, at instant: @autoclosure () -> Instant,
        function: String, file fileID: String, line: UInt
    ) -> PropagatingSpan {
        var context = context()
        let parent = context.portierSpan
        let span: PortierSpanContext = generator.ids.withLock { ids in
            let id = ids.spanID()
            guard let parent else { return PortierSpanContext(traceParent: ids.newTrace(spanID: id)) }
            return PortierSpanContext(traceParent: parent.traceParent.child(spanID: id), traceState: parent.traceState)
        }
        context.portierSpan = span
        return PropagatingSpan(context: context)
    }

    public func forceFlush() {}

    public func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let value = extractor.extract(key: "traceparent", from: carrier), let parent = TraceParent(value) else { return }
        let state = extractor.extract(key: "tracestate", from: carrier).flatMap { TraceState.isAcceptable($0) ? $0 : nil }
        context.portierSpan = PortierSpanContext(traceParent: parent, traceState: state)
    }

    public func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let span = context.portierSpan else { return }
        injector.inject(span.traceParent.header, forKey: "traceparent", into: &carrier)
        if let state = span.traceState { injector.inject(state, forKey: "tracestate", into: &carrier) }
    }
}

/// A span of ``PropagatingTracer``: ids only, never recording.
public struct PropagatingSpan: Tracing.Span {
    public let context: ServiceContext

    public init(context: ServiceContext) {
        self.context = context
    }

    public var isRecording: Bool { false }
    public var operationName: String {
        get { "" }
        nonmutating set {}
    }
    public var attributes: SpanAttributes {
        get { [:] }
        nonmutating set {}
    }
    public func setStatus(_ status: SpanStatus) {}
    public func addEvent(_ event: SpanEvent) {}
    public func addLink(_ link: SpanLink) {}
    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {}
    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {}
}

/// `traceparent` and `tracestate` as two strings: how an event carries the context it was created
/// in, and how the gateway hands its ids to a tracer.
public struct TraceHeaders: Sendable, Equatable {
    public var traceParent: String?
    public var traceState: String?

    public init(traceParent: String? = nil, traceState: String? = nil) {
        self.traceParent = traceParent
        self.traceState = traceState
    }

    public struct Codec: Extractor, Injector {
        public init() {}

        public func extract(key: String, from carrier: TraceHeaders) -> String? {
            switch key {
            case "traceparent": carrier.traceParent
            case "tracestate": carrier.traceState
            default: nil
            }
        }

        public func inject(_ value: String, forKey key: String, into carrier: inout TraceHeaders) {
            switch key {
            case "traceparent": carrier.traceParent = value
            case "tracestate": carrier.traceState = value
            default: break
            }
        }
    }
}

extension Logger.MetadataProvider {
    /// `trace_id` and `span_id` of the span the code runs in, for every log line written inside
    /// a request, an event's handling or a delivery.
    public static let portierTrace = Logger.MetadataProvider {
        guard let span = ServiceContext.current?.portierSpan else { return [:] }
        return ["trace_id": .string(span.traceID), "span_id": .string(span.spanID)]
    }
}
