import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Synchronization
import Tokens

/// What the token server says must be refused: revoked token ids and client cut-offs (a removed
/// client, a rotated secret: its tokens with `iat <= notBefore` are dead), kept in step with its
/// incremental feed `GET /oauth/revocations?since=<cursor>`.
///
/// Each entry is kept until its tokens' `exp` plus the gateway's leeway, the longest the verifier
/// would otherwise accept them. When the feed cannot be fetched, the last known state stays in
/// force; how long ago the last good fetch was drives readiness, the age metric and fail-closed.
public final class RevocationList: Sendable {
    struct Cutoff: Equatable {
        var notBefore: Int64
        var exp: Int64
    }

    private struct State {
        /// jti -> the token's exp.
        var tokens: [String: Int64] = [:]
        var clients: [String: Cutoff] = [:]
        /// Where the next poll resumes; only meaningful for `source`.
        var cursor: Int64?
        /// The feed URL and client the cursor came from; another one starts over.
        var source: String?
        var lastSuccess: ContinuousClock.Instant?
        var everPolled = false
        var lastError: String?
        var staleLogged = false
    }

    private let state = Mutex(State())
    private let started = ContinuousClock.now
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Whether a revoked jti is on the list.
    public func contains(_ jti: String) -> Bool {
        state.withLock { $0.tokens[jti] != nil }
    }

    /// Whether a verified token must be refused: its jti is revoked, or its client was cut off at or
    /// after its `iat` (no `iat` at all: refused once the client has a cut-off).
    func refuses(jti: String?, clientID: String?, iat: Int64?) -> Bool {
        state.withLock { state in
            if let jti, state.tokens[jti] != nil { return true }
            guard let clientID, let cutoff = state.clients[clientID] else { return false }
            guard let iat else { return true }
            return iat <= cutoff.notBefore
        }
    }

    /// How long the feed is allowed to go without a good fetch: three intervals, at least 10 s.
    static func stalenessBound(_ settings: GatewayConfiguration.RevocationSettings) -> Duration {
        max(settings.interval * 3, .seconds(10))
    }

    /// Time since the last successful fetch (since the gateway started, when there was none).
    func age(now: ContinuousClock.Instant = .now) -> Duration {
        now - (state.withLock { $0.lastSuccess } ?? started)
    }

    /// Whether a fetch succeeded within `bound`. Never fetched is not fresh.
    func isFresh(within bound: Duration, now: ContinuousClock.Instant = .now) -> Bool {
        guard let last = state.withLock({ $0.lastSuccess }) else { return false }
        return now - last <= bound
    }

    /// Whether a feed is being polled at all (the age metric is only published then).
    var isPolled: Bool { state.withLock { $0.everPolled } }

    /// How many token ids and client cut-offs are in force, and the last fetch error (nil after a good fetch).
    func counts() -> (tokens: Int, clients: Int, lastError: String?) {
        state.withLock { ($0.tokens.count, $0.clients.count, $0.lastError) }
    }

    /// Why the last poll failed, while polls keep failing.
    var lastFailure: String? { state.withLock { $0.lastError } }

    struct Document: Decodable {
        struct Entry: Decodable {
            var jti: String
            var exp: Int64
        }
        struct ClientEntry: Decodable {
            var clientID: String
            var notBefore: Int64
            var exp: Int64

            enum CodingKeys: String, CodingKey {
                case clientID = "client_id", notBefore = "not_before", exp
            }
        }
        /// Absent from token servers without the incremental feed: then every answer is the full list.
        var cursor: Int64?
        var reset: Bool?
        var revocations: [Entry]
        var clients: [ClientEntry]?
    }

    /// Fetches the changes since the last cursor once and merges them; on failure the previous
    /// state stays in force.
    func poll(_ settings: GatewayConfiguration.RevocationSettings, client: HTTPClient) async {
        let source = settings.url + " " + settings.clientID
        let since = state.withLock { state -> Int64? in
            state.everPolled = true
            return state.source == source ? state.cursor : nil
        }
        do {
            let secret = try Self.secret(settings)
            var url = settings.url
            if let since { url += (url.contains("?") ? "&" : "?") + "since=\(since)" }
            var request = HTTPClientRequest(url: url)
            let credentials = Data("\(settings.clientID):\(secret)".utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(credentials)")
            let response = try await client.execute(request, timeout: .seconds(2))
            let body = try await response.body.collect(upTo: 16 << 20)
            guard response.status == .ok else {
                throw FetchError("revocation feed answered \(response.status.code): \(String(buffer: body).prefix(200))")
            }
            let document = try JSONDecoder().decode(Document.self, from: Data(buffer: body))
            let now = TokenVerifier.now()
            let leeway = Int64(settings.leewaySeconds)
            let recovered = state.withLock { state -> Bool in
                Self.merge(document, into: &state, replace: since == nil || document.reset != false)
                state.tokens = state.tokens.filter { $0.value + leeway >= now }
                state.clients = state.clients.filter { $0.value.exp + leeway >= now }
                state.cursor = document.cursor
                state.source = source
                state.lastSuccess = .now
                defer {
                    state.lastError = nil
                    state.staleLogged = false
                }
                return state.lastError != nil || state.staleLogged
            }
            if recovered {
                logger.info("revocation feed reachable again", metadata: ["url": .string(settings.url)])
            }
        } catch {
            failed(error, settings)
        }
    }

    private static func merge(_ document: Document, into state: inout State, replace: Bool) {
        if replace {
            state.tokens.removeAll(keepingCapacity: true)
            state.clients.removeAll(keepingCapacity: true)
        }
        for entry in document.revocations {
            state.tokens[entry.jti] = max(state.tokens[entry.jti] ?? entry.exp, entry.exp)
        }
        for entry in document.clients ?? [] {
            let previous = state.clients[entry.clientID]
            state.clients[entry.clientID] = Cutoff(
                notBefore: max(previous?.notBefore ?? entry.notBefore, entry.notBefore), exp: max(previous?.exp ?? entry.exp, entry.exp)
            )
        }
    }

    /// Logs a new kind of failure once, and the feed going stale once (with what that means for requests).
    private func failed(_ error: any Error, _ settings: GatewayConfiguration.RevocationSettings) {
        let text = "\(error)"
        let bound = Self.stalenessBound(settings)
        let fresh = isFresh(within: bound)
        let (isNew, becameStale) = state.withLock { state -> (Bool, Bool) in
            let isNew = state.lastError != text
            state.lastError = text
            let becameStale = !fresh && !state.staleLogged
            if becameStale { state.staleLogged = true }
            return (isNew, becameStale)
        }
        if isNew {
            logger.error("cannot fetch the revocation feed; keeping the last state", metadata: ["url": .string(settings.url), "error": .string(text)])
        }
        if becameStale {
            let consequence =
                settings.failClosed
                ? "fail-closed: protected routes answer 503 until it is fetched again"
                : "fail-open: serving with the last known revocations"
            logger.warning(
                "revocation feed is stale",
                metadata: [
                    "url": .string(settings.url), "bound_seconds": .stringConvertible(bound.components.seconds), "mode": .string(consequence),
                ]
            )
        }
    }

    static func secret(_ settings: GatewayConfiguration.RevocationSettings) throws -> String {
        if let secret = settings.clientSecret { return secret }
        guard let path = settings.clientSecretFile else { throw FetchError("no client secret configured") }
        do {
            return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw FetchError("cannot read clientSecretFile \(path)")
        }
    }
}
