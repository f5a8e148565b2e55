import Foundation
import Synchronization

/// One upstream base URL, split once so building the forwarded URL is string concatenation.
public struct Upstream: Sendable, Equatable {
    /// "http://127.0.0.1:8081"
    public let origin: String
    /// Path of the base URL without trailing slash ("" or "/api").
    public let basePath: String
    /// Where to connect: the host name or address (IPv6 without brackets) and the port (the
    /// scheme's default when the URL names none).
    public let host: String
    public let port: Int
    /// The `Host` header for requests to this upstream ("127.0.0.1:8081").
    public let hostHeader: String
    public let usesTLS: Bool

    public init?(_ text: String) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
            components.query == nil, components.fragment == nil, components.user == nil
        else { return nil }
        let portSuffix = components.port.map { ":\($0)" } ?? ""
        let hostText = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        origin = "\(scheme)://\(hostText)\(portSuffix)"
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.usesTLS = scheme == "https"
        let number = components.port ?? (usesTLS ? 443 : 80)
        guard (1...65535).contains(number) else { return nil }
        self.port = number
        hostHeader = hostText + portSuffix
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
    }
}

/// Round robin over a route's upstreams. An upstream that refused a connection is skipped for
/// `ejection`; if all are ejected the gateway tries them anyway rather than failing without trying.
public final class UpstreamBalancer: Sendable {
    public let upstreams: [Upstream]
    private let ejection: Duration
    private let next = Atomic<Int>(0)
    private let ejectedUntil: Mutex<[ContinuousClock.Instant?]>

    public init(upstreams: [Upstream], ejection: Duration = .seconds(10)) {
        precondition(!upstreams.isEmpty, "a route needs an upstream")
        self.upstreams = upstreams
        self.ejection = ejection
        self.ejectedUntil = Mutex(Array(repeating: nil, count: upstreams.count))
    }

    /// The index and upstream to use for the next call.
    public func pick(now: ContinuousClock.Instant = .now) -> (index: Int, upstream: Upstream) {
        let count = upstreams.count
        let start = next.add(1, ordering: .relaxed).oldValue
        if count == 1 { return (0, upstreams[0]) }
        let ejected = ejectedUntil.withLock { $0 }
        for offset in 0..<count {
            let index = (start + offset) % count
            if let until = ejected[index], until > now { continue }
            return (index, upstreams[index])
        }
        let index = start % count
        return (index, upstreams[index])
    }

    /// Another upstream than `index` that is not ejected, for one retry of a refused connection.
    public func alternative(to index: Int, now: ContinuousClock.Instant = .now) -> (index: Int, upstream: Upstream)? {
        let ejected = ejectedUntil.withLock { $0 }
        for offset in 1..<max(upstreams.count, 1) {
            let candidate = (index + offset) % upstreams.count
            if let until = ejected[candidate], until > now { continue }
            return (candidate, upstreams[candidate])
        }
        return nil
    }

    /// For each upstream, in order, how long it stays ejected; nil for one in rotation.
    public func ejections(now: ContinuousClock.Instant = .now) -> [Duration?] {
        ejectedUntil.withLock { $0 }.map { until in until.flatMap { $0 > now ? $0 - now : nil } }
    }

    public func eject(_ index: Int, now: ContinuousClock.Instant = .now) {
        ejectedUntil.withLock { $0[index] = now + ejection }
    }
}
