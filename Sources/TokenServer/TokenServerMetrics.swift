import PortierHTTP
import Prometheus
import Synchronization
import Tokens

/// The token server's Prometheus metrics (`portier_auth_...`), on its admin listener:
///
/// - `tokens_issued_total{client_id}`: the first ``clientLabelLimit`` clients to get a token have
///   a series each; later ones count under `client_id="other"`, so a flood of clients cannot grow
///   the exposition without bound;
/// - `authentication_failures_total{reason}`: `missing_credentials`, `malformed_credentials`, `unknown_client`, `wrong_secret`;
/// - `throttled_requests_total`: authentications refused with 429 by the brute-force guard;
/// - `token_signing_duration_seconds`: the RSA signature of each issued token;
/// - `requests_total{route,method,status}` and `request_duration_seconds{route}`, as every service.
final class TokenServerMetrics: Sendable {
    /// Why a client authentication failed; the only values of the `reason` label.
    enum FailureReason: String, CaseIterable, Sendable {
        /// No credentials at all (not counted by the brute-force guard either).
        case missingCredentials = "missing_credentials"
        /// Undecodable Basic credentials, or an id no client can have.
        case malformedCredentials = "malformed_credentials"
        case unknownClient = "unknown_client"
        case wrongSecret = "wrong_secret"
    }

    static let defaultClientLabelLimit = 20
    let process = ProcessMetrics(process: "auth")
    let requests: RequestMetrics
    let clientLabelLimit: Int
    private let issued = Mutex<[String: Counter]>([:])
    private let issuedToOthers: Counter
    private let failures: [FailureReason: Counter]
    private let throttledRequests: Counter
    private let signing: DurationHistogram

    static let signingBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100),
    ]

    init(clientLabelLimit: Int = TokenServerMetrics.defaultClientLabelLimit) {
        self.clientLabelLimit = max(0, clientLabelLimit)
        requests = RequestMetrics(metrics: process)
        issuedToOthers = process.registry.makeCounter(descriptor: Self.issuedName(process), labels: [("client_id", "other")])
        let failureName = process.descriptor("authentication_failures", unit: "total", help: "Failed client authentications by reason")
        var failures: [FailureReason: Counter] = [:]
        for reason in FailureReason.allCases {
            failures[reason] = process.registry.makeCounter(descriptor: failureName, labels: [("reason", reason.rawValue)])
        }
        self.failures = failures
        throttledRequests = process.registry.makeCounter(
            descriptor: process.descriptor("throttled_requests", unit: "total", help: "Client authentications refused (429) by the brute-force guard")
        )
        signing = process.registry.makeDurationHistogram(
            descriptor: process.descriptor("token_signing_duration", unit: "seconds", help: "Time to sign one access token"),
            buckets: Self.signingBuckets
        )
    }

    private static func issuedName(_ process: ProcessMetrics) -> MetricNameDescriptor {
        process.descriptor("tokens_issued", unit: "total", help: "Access tokens issued, by client (the first clients seen; the rest as other)")
    }

    func tokenIssued(clientID: String, signing duration: Duration) {
        signing.record(duration)
        let counter = issued.withLock { issued -> Counter in
            if let counter = issued[clientID] { return counter }
            guard issued.count < clientLabelLimit, clientID != "other" else { return issuedToOthers }
            let counter = process.registry.makeCounter(descriptor: Self.issuedName(process), labels: [("client_id", clientID)])
            issued[clientID] = counter
            return counter
        }
        counter.increment()
    }

    func authenticationFailed(_ reason: FailureReason) {
        failures[reason]?.increment()
    }

    func throttled() {
        throttledRequests.increment()
    }
}

extension OAuthController {
    /// The admin listener's token check: a token this server issued and that is still active
    /// (verified with its own key ring, not revoked, its client not removed or rotated since).
    var adminTokenCheck: AdminTokenVerifier {
        { token in
            let claims: TokenClaims?
            do {
                claims = try await checkedClaims(of: token)
            } catch {
                // The database cannot say whether the token was revoked: 503, not a refusal that
                // would read as a wrong token (a scraper's alert should say "token server degraded").
                logger.error("cannot check an admin token against the revocation log", metadata: ["error": .string("\(error)")])
                return .unavailable("the token server cannot check tokens right now (its database is unavailable)")
            }
            guard let claims else { return .invalid("the token is not active (expired, revoked or not issued here)") }
            return .valid(scopes: claims.scopes, clientID: claims.clientID ?? claims.sub ?? "unknown")
        }
    }
}
