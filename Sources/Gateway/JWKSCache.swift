import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Synchronization
import Tokens

/// The token server's public keys, fetched from its JWKS and parsed once per kid.
///
/// A token whose kid is unknown makes the gateway refetch, at most once per `refetchInterval`;
/// requests that arrive meanwhile wait for that one fetch instead of failing. So a key rotation at
/// the token server is honoured at the first request that uses the new key.
public final class JWKSCache: Sendable {
    public let url: String
    private let client: HTTPClient
    private let logger: Logger
    private let refetchInterval: Duration
    private struct State {
        var keys = VerificationKeys()
        var lastFetch: ContinuousClock.Instant?
        var inflight: Task<Void, Never>?
        var lastError: String?
        /// How often ``maintain()`` refetches once keys are loaded (routes.json `auth.jwksRefreshSeconds`).
        var refreshInterval: Duration = .seconds(300)
    }
    private let state = Mutex(State())

    public init(url: String, client: HTTPClient, logger: Logger, refetchInterval: Duration = .seconds(2)) {
        self.url = url
        self.client = client
        self.logger = logger
        self.refetchInterval = refetchInterval
    }

    public var keys: VerificationKeys { state.withLock { $0.keys } }

    /// Installs keys without fetching; the unit tests of the auth guard use it.
    func install(_ keys: VerificationKeys) {
        state.withLock {
            $0.keys = keys
            $0.lastFetch = .now
        }
    }

    public var hasKeys: Bool { state.withLock { !$0.keys.isEmpty } }

    /// Whether the last fetched JWKS still has `kid` (a cached token is only good while it does).
    func contains(_ kid: String) -> Bool {
        state.withLock { $0.keys[kid] != nil }
    }

    /// The periodic refetch interval; a key pruned at the token server is dropped here within it.
    var refreshInterval: Duration {
        get { state.withLock { $0.refreshInterval } }
        set { state.withLock { $0.refreshInterval = newValue } }
    }

    /// Keys including `kid` if the token server has it: refetches (coalesced, rate-limited) when missing.
    public func keys(including kid: String) async -> VerificationKeys {
        let current = keys
        if current[kid] != nil { return current }
        await refresh()
        return keys
    }

    /// Fetches the JWKS unless a fetch is running (then waits for it). Fetches closer together
    /// than `refetchInterval` are delayed to the end of the interval.
    public func refresh() async {
        let task: Task<Void, Never> = state.withLock { state in
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
        await task.value
    }

    private func fetch() async {
        let result: Result<VerificationKeys, any Error>
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/json")
            let response = try await client.execute(request, timeout: .seconds(2))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { throw JWKSError("JWKS answered \(response.status.code)") }
            let jwks = try JSONDecoder().decode(JWKSet.self, from: Data(buffer: body))
            let keys = VerificationKeys(jwks: jwks) { [logger] jwk, error in
                logger.warning("skipping unusable JWKS key", metadata: ["kid": .string(jwk.kid ?? "-"), "error": .string("\(error)")])
            }
            guard !keys.isEmpty else { throw JWKSError("JWKS has no usable RS256 keys") }
            result = .success(keys)
        } catch {
            result = .failure(error)
        }
        let message: String? = state.withLock { state in
            state.lastFetch = .now
            state.inflight = nil
            switch result {
            case .success(let keys):
                let changed = Set(keys.byID.keys) != Set(state.keys.byID.keys)
                state.keys = keys
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

    /// Background upkeep: retry every second until keys arrive, then refresh every `refreshInterval`
    /// (five minutes by default), so keys pruned at the token server stop verifying tokens here.
    func maintain() async {
        while !Task.isCancelled {
            await refresh()
            try? await Task.sleep(for: hasKeys ? refreshInterval : .seconds(1))
        }
    }
}

struct JWKSError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
