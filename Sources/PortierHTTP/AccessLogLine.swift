import Logging
public import PortierTracing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Builds the per-request access-log line straight into bytes, in the same JSON shape as
/// ``JSONLogHandler`` (`ts`, `level`, `service`, `msg`, then the fields in the order given).
///
/// The access log runs once per request; going through swift-log's metadata dictionaries and
/// sorted keys cost the gateway about 15% of its throughput. Other log events still use swift-log.
public struct AccessLogLine {
    private var bytes: [UInt8]

    /// Starts a line for `service`; nil when the logger is not at info level.
    public init?(logger: Logger) {
        guard logger.logLevel <= .info else { return nil }
        bytes = []
        bytes.reserveCapacity(320)
        bytes.append(contentsOf: #"{"ts":""#.utf8)
        Timestamp.append(to: &bytes)
        bytes.append(contentsOf: #"","level":"info","service":"#.utf8)
        var label = logger.label
        label.withUTF8 { Self.appendString($0, to: &bytes) }
        bytes.append(contentsOf: #","msg":"request""#.utf8)
    }

    public mutating func field(_ key: StaticString, _ value: String) {
        appendKey(key)
        var value = value
        value.withUTF8 { Self.appendString($0, to: &bytes) }
    }

    public mutating func field(_ key: StaticString, _ value: Substring) {
        appendKey(key)
        var value = value
        value.withUTF8 { Self.appendString($0, to: &bytes) }
    }

    public mutating func field(_ key: StaticString, _ value: Int) {
        appendKey(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Milliseconds with three decimals.
    public mutating func field(_ key: StaticString, milliseconds duration: Duration) {
        appendKey(key)
        let (seconds, attoseconds) = duration.components
        let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        bytes.append(contentsOf: String(micros / 1000).utf8)
        bytes.append(UInt8(ascii: "."))
        let fraction = String(micros % 1000)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: 3 - fraction.utf8.count))
        bytes.append(contentsOf: fraction.utf8)
    }

    /// `trace_id` (32 hex digits) and `span_id` (16: the span this line is about, the parent id
    /// `trace` names), written as hex straight into the line.
    public mutating func trace(_ trace: TraceParent) {
        appendKey("trace_id")
        bytes.append(UInt8(ascii: "\""))
        TraceParent.appendHex(trace.traceIDHigh, digits: 16, to: &bytes)
        TraceParent.appendHex(trace.traceIDLow, digits: 16, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        appendKey("span_id")
        bytes.append(UInt8(ascii: "\""))
        TraceParent.appendHex(trace.parentID, digits: 16, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `trace_id` and `span_id` of the code running now, as the logger's metadata provider
    /// (the process's tracer) gives them: the same fields every other line of the request has.
    public mutating func trace(from logger: Logger) {
        guard let provided = logger.handler.metadataProvider?.get() else { return }
        for key: StaticString in ["trace_id", "span_id"] {
            if case .string(let value)? = provided[key.description] { field(key, value) }
        }
    }

    /// Hands the line to the process's log sink.
    public consuming func write(to sink: LogSink = .standardOutput) {
        bytes.append(contentsOf: "}\n".utf8)
        sink.append(bytes: bytes)
    }

    private mutating func appendKey(_ key: StaticString) {
        bytes.append(UInt8(ascii: ","))
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: "\":".utf8)
    }

    /// A JSON string literal; most values need no escaping and are copied in one go.
    static func appendString(_ utf8: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        if utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: utf8)
        } else {
            var escaped = ""
            JSONLogHandler.appendString(String(decoding: utf8, as: UTF8.self), to: &escaped)
            bytes.append(contentsOf: escaped.utf8.dropFirst().dropLast())
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// UTC timestamps with milliseconds; the part up to the second is formatted once per second.
enum Timestamp {
    private static let cache = Mutex<(second: Int, prefix: [UInt8])>((-1, []))

    /// Appends the time now to `bytes` (no array of its own: the access log line's is used).
    static func append(to bytes: inout [UInt8]) {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        let second = Int(time.tv_sec)
        let appended = cache.withLock { cached in
            guard cached.second == second else { return false }
            bytes.append(contentsOf: cached.prefix)
            return true
        }
        if !appended {
            let prefix = Array(JSONLogHandler.timestamp(seconds: time.tv_sec, millis: 0).utf8.dropLast(5))
            cache.withLock { $0 = (second, prefix) }
            bytes.append(contentsOf: prefix)
        }
        let millis = Int(time.tv_nsec / 1_000_000)
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(ascii: "0") + UInt8(millis / 100))
        bytes.append(UInt8(ascii: "0") + UInt8(millis / 10 % 10))
        bytes.append(UInt8(ascii: "0") + UInt8(millis % 10))
        bytes.append(UInt8(ascii: "Z"))
    }
}
