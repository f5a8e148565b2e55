public import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOPosix
import Synchronization
public import Tokens

/// The token server's public keys for a hotel service, fetched from its JWKS over HTTP and parsed once per kid.
///
/// Hotel services must not depend on the gateway, so this is the services' counterpart of the gateway's
/// `JWKSCache`: keys are fetched on first use, a token with an unknown kid triggers one refetch (coalesced,
/// at most one per `refetchInterval`), and keys older than `maxAge` are refreshed so a key removed from the
/// JWKS stops being trusted.
public final class JWKSFetcher: Sendable {
    public let url: String
    private let client: HTTPClient
    private let logger: Logger
    private let refetchInterval: Duration
    private let maxAge: Duration
    private struct State {
        var keys = VerificationKeys()
        var lastFetch: ContinuousClock.Instant?
        var lastSuccess: ContinuousClock.Instant?
        var inflight: Task<Void, Never>?
        var lastError: String?
    }
    private let state = Mutex(State())

    /// Creates its own HTTP client (1 s connect timeout, no redirects); call ``shutdown()`` when done.
    public init(url: String, logger: Logger, refetchInterval: Duration = .seconds(2), maxAge: Duration = .seconds(300)) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(1), read: .seconds(2))
        configuration.redirectConfiguration = .disallow
        configuration.tracing.tracer = nil
        configuration.connectionPool.retryConnectionEstablishment = false
        self.client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
        self.url = url
        self.logger = logger
        self.refetchInterval = refetchInterval
        self.maxAge = maxAge
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// Keys including `kid` if the token server has it. Fetches (and waits) when the kid is unknown or no keys
    /// are loaded; keys older than `maxAge` are still used while a refresh runs in the background.
    public func keys(including kid: String) async -> VerificationKeys {
        let (current, stale) = state.withLock { state in
            (state.keys, state.lastSuccess.map { ContinuousClock.now - $0 >= maxAge } ?? true)
        }
        if current[kid] != nil {
            if stale { _ = startRefresh() }
            return current
        }
        await startRefresh().value
        return state.withLock { $0.keys }
    }

    /// Fetches the JWKS unless a fetch is running (then waits for it).
    public func refresh() async {
        await startRefresh().value
    }

    /// Starts a fetch, or returns the one running. Fetches closer together than `refetchInterval` are
    /// delayed to the end of the interval, so tokens with made-up kids cannot flood the token server.
    private func startRefresh() -> Task<Void, Never> {
        state.withLock { state in
            if let inflight = state.inflight { return inflight }
            var delay = Duration.zero
            if let last = state.lastFetch {
                let since = ContinuousClock.now - last
                if since < refetchInterval { delay = refetchInterval - since }
            }
            let task = Task { [self] in
                if delay > .zero { try? await Task.sleep(for: delay) }
                await fetch()
            }
            state.inflight = task
            return task
        }
    }

    private func fetch() async {
        let result: Result<VerificationKeys, any Error>
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/json")
            let response = try await client.execute(request, timeout: .seconds(2))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { throw JWKSFetchError("JWKS answered \(response.status.code)") }
            let jwks = try JSONDecoder().decode(JWKSet.self, from: Data(buffer: body))
            let keys = VerificationKeys(jwks: jwks) { [logger] jwk, error in
                logger.warning("skipping unusable JWKS key", metadata: ["kid": .string(jwk.kid ?? "-"), "error": .string("\(error)")])
            }
            guard !keys.isEmpty else { throw JWKSFetchError("JWKS has no usable RS256 keys") }
            result = .success(keys)
        } catch {
            result = .failure(error)
        }
        let message: String? = state.withLock { state in
            let now = ContinuousClock.now
            state.lastFetch = now
            state.inflight = nil
            switch result {
            case .success(let keys):
                let changed = Set(keys.byID.keys) != Set(state.keys.byID.keys)
                state.keys = keys
                state.lastSuccess = now
                state.lastError = nil
                return changed ? "signing keys loaded" : nil
            case .failure(let error):
                let text = "\(error)"
                defer { state.lastError = text }
                return state.lastError == text ? nil : "cannot fetch JWKS: \(text)"
            }
        }
        if let message {
            if case .success(let keys) = result {
                logger.info("\(message)", metadata: ["url": .string(url), "kids": .array(keys.byID.keys.sorted().map { .string($0) })])
            } else {
                logger.error("\(message)", metadata: ["url": .string(url)])
            }
        }
    }
}

struct JWKSFetchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
