import EventBus
import PortierHTTP

/// Everything `portier auth` can be told; defaults are the local stack's.
public struct TokenServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    /// The PostgreSQL database of the clients and revocations (shared by replicas); nil for the
    /// SQLite file in ``dataDirectory``.
    public var database: PostgresURL?
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
    /// Keep a `portier-gateway` client (scope `introspect`) whose secret sits in `<data-dir>/gateway-client.secret`
    /// (mode 0600), so a gateway on this machine can read the revocation list.
    public var provisionGatewayClient: Bool
    /// Keep a `portier-books` client (scope `payments:write`) whose secret sits in `<data-dir>/books-client.secret`
    /// (mode 0600), so books can create and void payments.
    public var provisionServiceClients: Bool
    /// The admin listener (/metrics, health probes); nil runs none. Its tokens are checked with
    /// this server's own keys.
    public var admin: AdminSettings?
    /// How many clients get a `client_id` series of their own in `portier_auth_tokens_issued_total`
    /// (the first ones to get a token); the rest count under `client_id="other"`.
    public var metricsClientLimit: Int = 20

    public init(
        host: String = "127.0.0.1", port: Int = 8090, dataDirectory: String = "./data", keysDirectory: String = "./keys",
        issuer: String? = nil, audience: String = "hotel-api", trustedProxies: TrustedProxies = .loopback,
        bruteForce: BruteForceGuard.Policy = .init(), keyPollInterval: Duration = .seconds(1), createDemoClient: Bool = true,
        provisionGatewayClient: Bool = true, provisionServiceClients: Bool = true
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
        self.provisionGatewayClient = provisionGatewayClient
        self.provisionServiceClients = provisionServiceClients
    }

    /// Where the gateway client's secret is written.
    public var gatewaySecretFile: String { dataDirectory + "/gateway-client.secret" }

    /// The id of the client the local gateway authenticates as.
    public static let gatewayClientID = "portier-gateway"

    /// Where books' client secret is written.
    public var booksSecretFile: String { dataDirectory + "/books-client.secret" }

    /// The id of the client books authenticates as for its calls to payments.
    public static let booksClientID = "portier-books"

    /// The clients the token server keeps for the other Portier processes, per the provision switches.
    public var internalClients: [InternalClient] {
        var clients: [InternalClient] = []
        if provisionGatewayClient {
            clients.append(InternalClient(id: Self.gatewayClientID, scopes: ["introspect"], secretFile: gatewaySecretFile))
        }
        if provisionServiceClients {
            clients.append(InternalClient(id: Self.booksClientID, scopes: ["payments:write"], secretFile: booksSecretFile))
        }
        return clients
    }

    public var resolvedIssuer: String {
        issuer ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}
