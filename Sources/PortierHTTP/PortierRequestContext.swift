public import Hummingbird
public import HTTPTypes
public import NIOCore

/// The request context of every Portier server: the peer address and the request id travel with it.
public struct PortierRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer; behind a proxy this is the proxy.
    public let remoteAddress: SocketAddress?
    /// Set by ``AccessLogMiddleware``: the caller's `X-Request-Id` or a new one.
    public var requestID: String = ""

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// JSON bodies of the hotel services are small; uploads larger than this are refused with 413.
    public var maxUploadSize: Int { 1 << 20 }

    /// The peer's IP address as text ("unknown" for non-IP transports such as tests over pipes).
    public var peerIP: String {
        remoteAddress?.ipAddress ?? "unknown"
    }
}

extension HTTPField.Name {
    public static let xRequestID = HTTPField.Name("X-Request-Id")!
    public static let pragma = HTTPField.Name("Pragma")!
    public static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    public static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    public static let xForwardedHost = HTTPField.Name("X-Forwarded-Host")!
}
