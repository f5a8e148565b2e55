import HTTPTypes
public import Hummingbird
import PortierTelemetry
import PortierTracing
public import Tracing

/// Runs each request in a SERVER span that continues the caller's W3C trace (`traceparent`, and
/// `tracestate` when it is in W3C's grammar), so every line the request logs, its access line
/// included, carries `trace_id` and `span_id`, and calls it makes pass the trace on.
///
/// Portier's own rather than Hummingbird's `TracingMiddleware`: the tracer sees only the two trace
/// headers (swift-otel logs the whole carrier when one does not parse, and a request's headers hold
/// its credentials), and attributes are built only for a span that records.
public struct TraceMiddleware<Context: RequestContext>: RouterMiddleware {
    private let tracer: any Tracer

    /// `tracer` is the process's, taken once: `InstrumentationSystem.tracer` locks on every read.
    public init(tracer: any Tracer = InstrumentationSystem.tracer) {
        self.tracer = tracer
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var parent = ServiceContext.current ?? .topLevel
        if let traceParent = request.headers[.traceparent] {
            let state = request.headers[.tracestate].flatMap { TraceState.isAcceptable($0) ? $0 : nil }
            tracer.extract(TraceHeaders(traceParent: traceParent, traceState: state), into: &parent, using: TraceHeaders.Codec())
        }
        let span = tracer.startSpan(request.method.rawValue, context: parent, ofKind: .server)
        defer { span.end() }
        return try await ServiceContext.$current.withValue(span.context) {
            do {
                let response = try await next(request, context)
                if span.isRecording {
                    let route = context.endpointPath ?? "unmatched"
                    span.operationName = "\(request.method.rawValue) \(route)"
                    span.attributes = [
                        "http.request.method": .string(request.method.rawValue), "url.path": .string(request.uri.path),
                        "http.route": .string(route), "http.response.status_code": .int64(Int64(response.status.code)),
                    ]
                    if response.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
                }
                return response
            } catch {
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error))
                throw error
            }
        }
    }
}

extension HTTPField.Name {
    static let traceparent = HTTPField.Name("traceparent")!
    static let tracestate = HTTPField.Name("tracestate")!
}
