import PortierHTTP
public import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOPosix
import Synchronization
public import Tokens

/// The token server's public keys, fetched from its JWKS and parsed once per kid; the gateway and the
/// hotel services that check service tokens share it.
///
/// A token whose kid is unknown makes it refetch (coalesced, at most once per `refetchInterval`);
/// requests that arrive meanwhile wait for that one fetch instead of failing, so a key rotation at the
/// token server is honoured at the first token signed with the new key. Keys are refreshed every
/// ``refreshInterval`` (five minutes by default), so a key pruned from the JWKS stops being trusted.
public final class JWKSFetcher: Sendable {
    public let url: String
    private let client: HTTPClient
    /// Whether ``shutdown()`` closes `client` (this fetcher made it).
    private let ownsClient: Bool
    private let logger: Logger
    private let refetchInterval: Duration
    /// Told of every fetch's outcome (true: keys loaded), for metrics.
    private let onFetch: (@Sendable (_ ok: Bool) -> Void)?
    private struct State {
        var keys = VerificationKeys()
        var lastFetch: ContinuousClock.Instant?
        var lastSuccess: ContinuousClock.Instant?
        var inflight: Task<Void, Never>?
        var lastError: String?
        var refreshInterval: Duration
    }
    private let state: Mutex<State>

    /// Fetches with the caller's HTTP client (the gateway's), which the caller shuts down.
    public init(
        url: String, client: HTTPClient, logger: Logger, refetchInterval: Duration = .seconds(2), refreshInterval: Duration = .seconds(300),
        onFetch: (@Sendable (_ ok: Bool) -> Void)? = nil
    ) {
        self.url = url
        self.client = client
        self.ownsClient = false
        self.logger = logger
        self.refetchInterval = refetchInterval
        self.onFetch = onFetch
        self.state = Mutex(State(refreshInterval: refreshInterval))
    }

    /// Creates its own HTTP client (1 s connect timeout, no redirects); call ``shutdown()`` when done.
    public init(url: String, logger: Logger, refetchInterval: Duration = .seconds(2), refreshInterval: Duration = .seconds(300)) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(1), read: .seconds(2))
        configuration.redirectConfiguration = .disallow
        configuration.tracing.tracer = nil
        configuration.connectionPool.retryConnectionEstablishment = false
        self.client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
        self.ownsClient = true
        self.url = url
        self.logger = logger
        self.refetchInterval = refetchInterval
        self.onFetch = nil
        self.state = Mutex(State(refreshInterval: refreshInterval))
    }

    public func shutdown() async throws {
        if ownsClient { try await client.shutdown() }
    }

    /// The keys loaded so far (possibly none), without waiting.
    public var keys: VerificationKeys { state.withLock { $0.keys } }

    public var hasKeys: Bool { state.withLock { !$0.keys.isEmpty } }

    /// Whether the last fetched JWKS still has `kid` (a cached verification is only good while it does).
    public func contains(_ kid: String) -> Bool {
        state.withLock { $0.keys[kid] != nil }
    }

    /// Installs keys without fetching (tests of what uses the keys).
    public func install(_ keys: VerificationKeys) {
        state.withLock {
            $0.keys = keys
            $0.lastFetch = .now
            $0.lastSuccess = .now
        }
    }

    /// How often loaded keys are fetched again (routes.json `auth.jwksRefreshSeconds` for the gateway).
    public var refreshInterval: Duration {
        get { state.withLock { $0.refreshInterval } }
        set { state.withLock { $0.refreshInterval = newValue } }
    }

    /// Keys including `kid` if the token server has it. Fetches (and waits) when the kid is unknown or no keys
    /// are loaded; keys older than ``refreshInterval`` are still used while a refresh runs in the background.
    public func keys(including kid: String) async -> VerificationKeys {
        let (current, stale) = state.withLock { state in
            (state.keys, state.lastSuccess.map { ContinuousClock.now - $0 >= state.refreshInterval } ?? true)
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
        if let onFetch {
            if case .success = result { onFetch(true) } else { onFetch(false) }
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

extension JWKSFetcher {
    /// Background upkeep: retry every second until keys arrive, then refresh every ``refreshInterval``.
    public func maintain() async {
        while !Task.isCancelled {
            await refresh()
            try? await Task.sleep(for: hasKeys ? refreshInterval : .seconds(1))
        }
    }
}

struct JWKSFetchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
