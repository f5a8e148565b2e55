import ArgumentParser
import Foundation
import Logging
import OTel
import PortierHTTP
import PortierTelemetry
import ServiceLifecycle
import Tracing

/// How a process traces: always W3C trace context (ids in every request's and event's log lines,
/// `traceparent` on every hop and event); spans exported over OTLP/HTTP only when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set.
///
/// Call ``bootstrap(service:environment:)`` first thing in a command, before anything creates an
/// HTTP client: AsyncHTTPClient takes the tracer when its configuration is made.
struct Telemetry {
    /// The exporting tracer, when export is on.
    let exporter: (any Tracer)?
    /// swift-otel's batch processor and exporter: run first, stopped last, so the last spans go out.
    let service: (any Service)?

    /// Whether the environment asks for OTLP export, or why what it asks for cannot be done.
    enum Mode: Equatable {
        case off
        case otlp
        case invalid(String)
    }

    static let supportedSamplers = [
        "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio", "always_on", "always_off", "traceidratio",
    ]

    static func mode(_ environment: [String: String]) -> Mode {
        func value(_ key: String) -> String? {
            environment[key].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        guard value("OTEL_EXPORTER_OTLP_ENDPOINT") != nil || value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != nil else { return .off }
        if value("OTEL_SDK_DISABLED")?.lowercased() == "true" { return .off }
        if let exporter = value("OTEL_TRACES_EXPORTER")?.lowercased() {
            if exporter == "none" { return .off }
            guard exporter == "otlp" else { return .invalid("OTEL_TRACES_EXPORTER=\(exporter): only otlp (or none) is supported") }
        }
        // swift-otel is built without gRPC; its gRPC exporter would stop the process.
        for key in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] {
            if let proto = value(key), proto != "http/protobuf" {
                return .invalid("\(key)=\(proto): only http/protobuf is supported")
            }
        }
        // swift-otel traps on the samplers it names but does not implement (xray, jaeger_remote).
        if let sampler = value("OTEL_TRACES_SAMPLER")?.lowercased(), !supportedSamplers.contains(sampler) {
            return .invalid("OTEL_TRACES_SAMPLER=\(sampler): one of \(supportedSamplers.joined(separator: ", "))")
        }
        if let propagators = value("OTEL_PROPAGATORS"), propagators != "tracecontext" {
            return .invalid("OTEL_PROPAGATORS=\(propagators): only tracecontext is supported (events store W3C trace context)")
        }
        return .otlp
    }

    /// Installs logging (JSON lines with trace ids) and the tracer for this process.
    static func bootstrap(service name: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Telemetry {
        switch mode(environment) {
        case .invalid(let reason):
            JSONLogHandler.bootstrap(service: name, metadataProvider: .portierTrace)
            throw ValidationError("tracing: \(reason)")
        case .off:
            JSONLogHandler.bootstrap(service: name, metadataProvider: .portierTrace)
            InstrumentationSystem.bootstrap(PropagatingTracer())
            return Telemetry(exporter: nil, service: nil)
        case .otlp:
            var configuration = OTel.Configuration.default
            configuration.serviceName = name  // OTEL_SERVICE_NAME still wins
            configuration.logs.enabled = false  // the JSON lines on stdout stay the logs
            configuration.metrics.enabled = false  // Prometheus /metrics on the admin listener stays the metrics
            JSONLogHandler.bootstrap(
                service: name, metadataProvider: .multiplex([.portierTrace, OTel.makeLoggingMetadataProvider()])
            )
            configuration.diagnosticLogger = .custom(Logger(label: name))
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            InstrumentationSystem.bootstrap(backend.factory)
            return Telemetry(exporter: backend.factory, service: backend.service)
        }
    }
}
