public import Logging
public import PortierHTTP
public import ServiceLifecycle
import Tokens

/// The admin listener's token check for a process that is not the token server: the token server's
/// JWKS (fetched on the first token, refetched for an unknown kid), its issuer and audience, as
/// payments checks books' service tokens.
public struct JWKSAdminTokenVerifier: Sendable {
    let verifier: TokenVerifier
    let keys: JWKSFetcher

    /// Makes its own JWKS fetcher; run ``lifecycle`` with the application so it is closed at the end.
    public init(settings: ServiceAuthSettings, logger: Logger) {
        verifier = TokenVerifier(configuration: .init(issuer: settings.issuer, audience: settings.audience, leewaySeconds: settings.leewaySeconds))
        keys = JWKSFetcher(url: settings.jwksURL, logger: logger)
    }

    /// What the token is; ``AdminServer`` turns it into 401, 403 or 503.
    public func check(_ token: String) async -> AdminTokenCheck {
        guard let kid = TokenVerifier.unverifiedKeyID(of: token) else { return .invalid("the token has no readable key id") }
        let keys = await self.keys.keys(including: kid)
        guard !keys.isEmpty else { return .unavailable("the token server's signing keys are not available yet") }
        do {
            let verified = try verifier.verify(token, keys: keys)
            return .valid(scopes: verified.claims.scopes, clientID: verified.claims.clientID ?? verified.claims.sub ?? "unknown")
        } catch {
            return .invalid(error.description)
        }
    }

    /// ``check(_:)`` as the closure ``AdminServer`` takes.
    public var closure: AdminTokenVerifier { { token in await check(token) } }

    /// Closes the JWKS fetcher's HTTP client once the process is shutting down.
    public var lifecycle: some Service { FetcherShutdown(keys: keys) }

    struct FetcherShutdown: Service {
        let keys: JWKSFetcher

        func run() async throws {
            try? await gracefulShutdown()
            try await keys.shutdown()
        }
    }
}
