import PortierHTTP

/// Everything `portier auth` can be told; defaults are the local stack's.
public struct TokenServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    public var keysDirectory: String
    /// `iss` of issued tokens; defaults to `http://<host>:<port>`.
    public var issuer: String?
    public var audience: String
    public var trustedProxies: TrustedProxies
    public var bruteForce: BruteForceGuard.Policy
    /// How often the keys directory is checked for rotations.
    public var keyPollInterval: Duration
    /// Create `hotel-client` when no client exists yet.
    public var createDemoClient: Bool

    public init(
        host: String = "127.0.0.1", port: Int = 8090, dataDirectory: String = "./data", keysDirectory: String = "./keys",
        issuer: String? = nil, audience: String = "hotel-api", trustedProxies: TrustedProxies = .loopback,
        bruteForce: BruteForceGuard.Policy = .init(), keyPollInterval: Duration = .seconds(1), createDemoClient: Bool = true
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.keysDirectory = keysDirectory
        self.issuer = issuer
        self.audience = audience
        self.trustedProxies = trustedProxies
        self.bruteForce = bruteForce
        self.keyPollInterval = keyPollInterval
        self.createDemoClient = createDemoClient
    }

    public var resolvedIssuer: String {
        issuer ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}
