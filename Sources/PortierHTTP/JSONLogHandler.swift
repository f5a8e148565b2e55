import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler that writes one JSON object per line to standard output.
///
/// Lines go through ``LogSink``, which batches them into few `write(2)` calls: an access-log line
/// per request would otherwise cost a system call per request. Whole lines are written, so lines
/// never interleave; warnings and errors are written at once.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    private let label: String
    private let sink: LogSink

    public init(label: String, level: Logger.Level = .info, sink: LogSink = .standardOutput) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    /// Installs the handler for every logger of the process; `LOG_LEVEL` overrides the level.
    /// `metadataProvider` adds fields from the task's context to every line (the trace ids).
    public static func bootstrap(service: String, level: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil) {
        let chosen = getenv("LOG_LEVEL").flatMap { Logger.Level(rawValue: String(cString: $0).lowercased()) } ?? level
        LoggingSystem.bootstrap(
            { label, provider in
                var handler = JSONLogHandler(label: service.isEmpty ? label : service, level: chosen)
                handler.metadataProvider = provider
                return handler
            },
            metadataProvider: metadataProvider
        )
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"ts\":\""
        line += Self.timestamp()
        line += "\",\"level\":\""
        line += event.level.rawValue
        line += "\",\"service\":"
        Self.appendString(label, to: &line)
        line += ",\"msg\":"
        Self.appendString(event.message.description, to: &line)
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        if let error = event.error { merged["error"] = .string("\(error)") }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += ","
            Self.appendString(key, to: &line)
            line += ":"
            Self.appendValue(value, to: &line)
        }
        line += "}\n"
        sink.append(line, urgent: event.level >= .warning)
    }

    private static func appendValue(_ value: Logger.Metadata.Value, to line: inout String) {
        switch value {
        case .string(let text):
            appendString(text, to: &line)
        case .stringConvertible(let convertible):
            // Numbers and booleans stay JSON numbers and booleans.
            // A non-finite Double ("nan", "inf") is not a JSON number, so it goes out as a string.
            if convertible is any BinaryInteger || (convertible as? Double)?.isFinite == true || convertible is Bool {
                line += convertible.description
            } else {
                appendString(convertible.description, to: &line)
            }
        case .array(let values):
            line += "["
            for (index, element) in values.enumerated() {
                if index > 0 { line += "," }
                appendValue(element, to: &line)
            }
            line += "]"
        case .dictionary(let dictionary):
            line += "{"
            for (index, entry) in dictionary.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { line += "," }
                appendString(entry.key, to: &line)
                line += ":"
                appendValue(entry.value, to: &line)
            }
            line += "}"
        }
    }

    /// Appends a JSON string literal with RFC 8259 escaping.
    static func appendString(_ text: String, to line: inout String) {
        line += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                line += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }

    /// UTC time with milliseconds, ISO 8601.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return timestamp(seconds: now.tv_sec, millis: Int32(now.tv_nsec / 1_000_000))
    }

    static func timestamp(seconds: Int, millis: Int32) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(millis, 3))Z"
    }
}

/// Batches log lines and writes them from a background thread every 20 ms (or at once when 64 KB
/// are waiting, a line is urgent, or the process exits normally). A SIGKILLed process loses at most
/// the last 20 ms of lines.
///
/// Appending takes a lock only for the copy into the batch; the write itself happens outside it,
/// under a second lock that keeps batches in order. Event loops appending at full load therefore
/// never wait for the kernel's write, only (rarely) for each other's memcpy.
public final class LogSink: @unchecked Sendable {
    /// Standard output, shared by every logger of the process.
    public static let standardOutput = LogSink(fileDescriptor: 1)

    private let fileDescriptor: Int32
    /// Guards `pending`.
    private let pendingLock: UnsafeMutablePointer<pthread_mutex_t>
    /// Held while a batch is written, so batches reach the file in the order they were taken.
    private let writeLock: UnsafeMutablePointer<pthread_mutex_t>
    private var pending: [UInt8] = []
    /// The buffer the next swap hands to `pending`, so appends rarely allocate.
    private var spare: [UInt8] = []

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        pendingLock = .allocate(capacity: 1)
        pendingLock.initialize(to: pthread_mutex_t())
        pthread_mutex_init(pendingLock, nil)
        writeLock = .allocate(capacity: 1)
        writeLock.initialize(to: pthread_mutex_t())
        pthread_mutex_init(writeLock, nil)
        pending.reserveCapacity(1 << 16)
        spare.reserveCapacity(1 << 16)
        let flusher = Thread { [self] in
            while true {
                usleep(20_000)
                flush()
            }
        }
        flusher.name = "log-flusher"
        flusher.start()
        atexit { LogSink.standardOutput.flush() }
    }

    func append(_ line: String, urgent: Bool) {
        append(bytes: Array(line.utf8), urgent: urgent)
    }

    /// Adds a complete line (ending in a newline).
    public func append(bytes line: [UInt8], urgent: Bool = false) {
        pthread_mutex_lock(pendingLock)
        pending.append(contentsOf: line)
        let full = pending.count >= 1 << 16
        pthread_mutex_unlock(pendingLock)
        if urgent || full { flush() }
    }

    /// Writes whatever is waiting. Safe to call from any thread.
    public func flush() {
        pthread_mutex_lock(writeLock)
        defer { pthread_mutex_unlock(writeLock) }
        // `spare` is only touched under writeLock; `pending` under pendingLock.
        var batch = spare
        pthread_mutex_lock(pendingLock)
        swap(&batch, &pending)
        pthread_mutex_unlock(pendingLock)
        batch.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(fileDescriptor, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    break
                }
                offset += written
            }
        }
        batch.removeAll(keepingCapacity: true)
        spare = batch
    }
}
