import PortierHTTP
public import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import Synchronization

/// The access token a service presents on its own calls to another service (OAuth2 client credentials).
///
/// The token is fetched from the token server as the service's own client, cached, and replaced once it
/// is close to its expiry; concurrent callers share one fetch. The client secret is read from its file at
/// every fetch, so a re-keyed secret is picked up without a restart. A callee's 401 drops the token
/// (``invalidate(_:)``) so the next call fetches a fresh one.
public final class ServiceTokenProvider: Sendable {
    /// Where and as whom to ask for tokens.
    public struct Configuration: Sendable, Equatable {
        /// The token endpoint, e.g. `http://127.0.0.1:8090/oauth/token`.
        public var tokenURL: String
        public var clientID: String
        /// File holding the client secret (the token server writes it with mode 0600).
        public var secretFile: String
        /// Scope to ask for; nil asks for every scope the client has.
        public var scope: String?

        public init(tokenURL: String, clientID: String, secretFile: String, scope: String? = nil) {
            self.tokenURL = tokenURL
            self.clientID = clientID
            self.secretFile = secretFile
            self.scope = scope
        }
    }

    public let configuration: Configuration
    private let client: HTTPClient
    private let logger: Logger
    /// After a failed fetch, callers get the same error for this long instead of each asking again.
    private let failureBackoff: Duration
    /// How long one token request may take.
    private let requestTimeout: TimeAmount

    private struct Cached {
        var token: String
        var refreshAt: ContinuousClock.Instant
        var expiresAt: ContinuousClock.Instant
    }
    private struct State {
        var cached: Cached?
        var inflight: Task<Cached, any Error>?
        var lastFailure: (at: ContinuousClock.Instant, error: ServiceTokenError)?
    }
    private let state = Mutex(State())

    public init(
        configuration: Configuration, client: HTTPClient, logger: Logger, failureBackoff: Duration = .milliseconds(500),
        requestTimeout: TimeAmount = .seconds(5)
    ) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
        self.failureBackoff = failureBackoff
        self.requestTimeout = requestTimeout
    }

    /// A token valid for a while yet: the cached one, or a new one from the token server.
    public func token() async throws(ServiceTokenError) -> String {
        enum Next {
            case use(String)
            case wait(Task<Cached, any Error>)
            case fail(ServiceTokenError)
        }
        let now = ContinuousClock.now
        let next: Next = state.withLock { state in
            if let cached = state.cached, now < cached.refreshAt { return .use(cached.token) }
            if let inflight = state.inflight { return .wait(inflight) }
            if let failure = state.lastFailure, now - failure.at < failureBackoff {
                // Past its refresh time but not expired: better the old token than none.
                if let cached = state.cached, now < cached.expiresAt { return .use(cached.token) }
                return .fail(failure.error)
            }
            let task = Task { [self] in try await fetch() }
            state.inflight = task
            return .wait(task)
        }
        switch next {
        case .use(let token):
            return token
        case .fail(let error):
            throw error
        case .wait(let task):
            let result = await task.result
            return try state.withLock { state throws(ServiceTokenError) in
                if state.inflight == task { state.inflight = nil }
                switch result {
                case .success(let cached):
                    state.cached = cached
                    state.lastFailure = nil
                    return cached.token
                case .failure(let error):
                    let failure = error as? ServiceTokenError ?? ServiceTokenError("\(error)")
                    state.lastFailure = (ContinuousClock.now, failure)
                    if let cached = state.cached, ContinuousClock.now < cached.expiresAt { return cached.token }
                    throw failure
                }
            }
        }
    }

    /// Forgets `token` (a callee refused it), unless a newer one replaced it meanwhile.
    public func invalidate(_ token: String) {
        state.withLock { state in
            if state.cached?.token == token { state.cached = nil }
        }
    }

    private func fetch() async throws -> Cached {
        let secret = try readSecret()
        var request = HTTPClientRequest(url: configuration.tokenURL)
        request.method = .POST
        let credentials = "\(Self.formEncode(configuration.clientID)):\(Self.formEncode(secret))"
        request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        var form = "grant_type=client_credentials"
        if let scope = configuration.scope { form += "&scope=" + Self.formEncode(scope) }
        request.body = .bytes(ByteBuffer(string: form))
        let started = ContinuousClock.now
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await client.execute(request, timeout: requestTimeout)
            body = try await response.body.collect(upTo: 64 << 10)
        } catch {
            throw ServiceTokenError("the token server at \(configuration.tokenURL) did not answer: \(error)")
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
        guard response.status == .ok else {
            let reason = [json["error"], json["error_description"]].compactMap { $0 as? String }.joined(separator: ": ")
            throw ServiceTokenError(
                "the token server refused client \(configuration.clientID) with \(response.status.code)\(reason.isEmpty ? "" : " (\(reason))")"
            )
        }
        guard let token = json["access_token"] as? String, !token.isEmpty, let expiresIn = json["expires_in"] as? Int, expiresIn > 0 else {
            throw ServiceTokenError("the token server's answer has no access_token and positive expires_in")
        }
        // Renew with a fifth of the lifetime (at most a minute) to spare, so a token is never sent about to expire.
        let lifetime = Duration.seconds(min(expiresIn, 86_400 * 365))
        let margin = min(lifetime / 5, .seconds(60))
        logger.debug("service token obtained", metadata: ["client_id": .string(configuration.clientID), "expires_in": .stringConvertible(expiresIn)])
        return Cached(token: token, refreshAt: started + lifetime - margin, expiresAt: started + lifetime)
    }

    private func readSecret() throws(ServiceTokenError) -> String {
        let path = configuration.secretFile
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ServiceTokenError("cannot read the client secret file \(path) (the token server writes it on start)")
        }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 4096),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty
        else {
            throw ServiceTokenError("the client secret file \(path) is empty or not text")
        }
        return text
    }

    /// `application/x-www-form-urlencoded` for one value (RFC 6749 2.3.1 asks this for Basic credentials too).
    static func formEncode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}

/// Why no service token could be had; the call it was for was not made.
public struct ServiceTokenError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
