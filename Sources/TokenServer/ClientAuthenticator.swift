import Foundation
import Hummingbird
import Logging
import NIOPosix
import OAuthForms
import PortierHTTP
import Synchronization
import Tokens

/// Authenticates OAuth clients (client_secret_basic or client_secret_post) and throttles guessing.
final class ClientAuthenticator: Sendable {
    enum Method: Sendable { case basic, post }

    struct Credentials: Sendable {
        var id: String
        var secret: String
        var method: Method
    }

    private struct VerifiedSecret {
        var storedHash: String
        var digest: [UInt8]
    }

    private let clients: ClientStore
    private let trustedProxies: TrustedProxies
    private let logger: Logger
    private let guardState: Mutex<BruteForceGuard>
    /// Successful checks, so PBKDF2 runs once per client and secret, not once per request. An entry
    /// is only used while the stored hash is unchanged, so `clients rotate-secret` invalidates it.
    private let verified = Mutex<[String: VerifiedSecret]>([:])
    /// Basic headers the fast path decoded before (see ``fastCredentials(authorization:form:)``).
    private let decodedHeaders = Mutex<[String: (credentials: Credentials, digest: [UInt8])]>([:])
    /// Checks in progress, by client id and secret digest (see ``attempt(_:address:)``).
    private let flights = Mutex<[Flight: Task<Outcome, Never>]>([:])
    /// Failures counted here that the other replicas have not been told of yet (only kept while
    /// ``sharesFailures`` is set: see ``SharedFailures``).
    private let unshared = Mutex<[AuthFailure]>([])
    let sharesFailures: Bool
    let metrics: TokenServerMetrics

    init(
        clients: ClientStore, trustedProxies: TrustedProxies, policy: BruteForceGuard.Policy, logger: Logger, sharesFailures: Bool = false,
        metrics: TokenServerMetrics = TokenServerMetrics()
    ) {
        self.metrics = metrics
        self.clients = clients
        self.trustedProxies = trustedProxies
        self.guardState = Mutex(BruteForceGuard(policy: policy))
        self.logger = logger
        self.sharesFailures = sharesFailures
    }

    /// The failures counted here since the last call, for the other replicas.
    func takeUnsharedFailures() -> [AuthFailure] {
        unshared.withLock { failures in
            defer { failures.removeAll() }
            return failures
        }
    }

    /// Puts back failures an exchange could not deliver, ahead of the newer ones.
    func keepUnshared(_ failures: [AuthFailure]) {
        guard !failures.isEmpty else { return }
        unshared.withLock { pending in
            pending = Array((failures + pending).suffix(10_000))
        }
    }

    /// Counts failures another replica saw, as if they had happened here now.
    func countFailures(fromOtherReplicas failures: [AuthFailure]) {
        guard !failures.isEmpty else { return }
        guardState.withLock { state in
            for failure in failures { state.recordFailure(clientID: failure.clientID, address: failure.address, now: .now) }
        }
    }

    private func noteForOtherReplicas(clientID: String?, address: String) {
        guard sharesFailures else { return }
        unshared.withLock { failures in
            // A flood between two exchanges is bounded; the newest are kept (the guard has counted them all here).
            if failures.count >= 10_000 { failures.removeFirst(failures.count - 9_999) }
            failures.append(AuthFailure(clientID: clientID, address: address))
        }
    }

    /// The address failures are counted against, honouring X-Forwarded-For from trusted proxies.
    func clientAddress(_ request: Request, _ context: PortierRequestContext) -> String {
        trustedProxies.clientAddress(peer: context.peerIP, forwardedFor: request.headers[.xForwardedFor])
    }

    /// Returns the authenticated client or throws the RFC 6749 error to send.
    func authenticate(_ request: Request, context: PortierRequestContext, form: [String: String]) async throws -> OAuthClient {
        let address = clientAddress(request, context)
        // No credentials at all guess nothing: refused, but not counted as a failed authentication,
        // or anyone could lock every client at a shared address out, internal clients included.
        if request.headers[.authorization] == nil, form["client_id"] == nil, form["client_secret"] == nil {
            metrics.authenticationFailed(.missingCredentials)
            throw OAuthError.invalidClient("client authentication is required (HTTP Basic or client_id and client_secret)", challenge: true)
        }
        let credentials: Credentials
        do throws(APIError) {
            credentials = try Self.credentials(authorization: request.headers[.authorization], form: form)
        } catch {
            if error.code == "invalid_client" {
                record(failure: true, clientID: nil, address: address)
                metrics.authenticationFailed(.malformedCredentials)
            }
            throw error
        }
        switch await attempt(credentials, address: address) {
        case .authenticated(let client):
            return client
        case .refused(let reason):
            metrics.authenticationFailed(reason)
            logger.notice("client authentication failed", metadata: ["client_id": .string(credentials.id), "client": .string(address)])
            throw OAuthError.invalidClient("client authentication failed", challenge: credentials.method == .basic)
        case .throttled(let retryAfter):
            metrics.throttled()
            logger.warning("client authentication throttled", metadata: ["client_id": .string(credentials.id), "client": .string(address)])
            throw OAuthError.tooManyAttempts(retryAfter: retryAfter)
        case .failed(let error):
            throw error
        }
    }

    /// How one check of a client's credentials ended, shared by identical concurrent attempts.
    enum Outcome: Sendable {
        case authenticated(OAuthClient)
        case refused(TokenServerMetrics.FailureReason)
        case throttled(retryAfter: Int)
        /// Not the caller's fault (the database failed): nothing was counted against them.
        case failed(any Error)
    }

    private struct Flight: Hashable {
        var clientID: String
        var secretDigest: [UInt8]
        /// The guard decides per address, so only attempts from one address share a check.
        var address: String
    }

    /// Identical attempts (same client id, same secret, same address) that arrive while one is being checked
    /// wait for its outcome instead of running PBKDF2 and taking a guard slot each. Without this, a
    /// client that opens many connections at once after a restart (before its secret is cached)
    /// filled its slots with its own concurrent checks and got 429s for the right secret. Different
    /// secrets are never shared, so guessing in parallel is counted as before.
    private func attempt(_ credentials: Credentials, address: String) async -> Outcome {
        let digest = Crypto.sha256(credentials.secret)
        let flight = Flight(clientID: credentials.id, secretDigest: digest, address: address)
        let (task, leads) = flights.withLock { flights -> (Task<Outcome, Never>, Bool) in
            if let running = flights[flight] { return (running, false) }
            let task = Task { await self.check(credentials, digest: digest, address: address) }
            flights[flight] = task
            return (task, true)
        }
        let outcome = await task.value
        if leads { flights.withLock { $0[flight] = nil } }
        return outcome
    }

    /// One check: the guard's reservation, the client lookup and the secret, settled once.
    private func check(_ credentials: Credentials, digest: [UInt8], address: String) async -> Outcome {
        // The decision and the reservation are one step under the lock: concurrent attempts that
        // are still being checked count against the limits, so they cannot all pass together.
        let ticket: BruteForceGuard.Ticket
        switch guardState.withLock({ $0.reserve(clientID: credentials.id, address: address, now: .now) }) {
        case .throttle(let retryAfter):
            return .throttled(retryAfter: retryAfter)
        case .granted(let granted):
            ticket = granted
        }
        let client: OAuthClient?
        do {
            client = try await clients.find(id: credentials.id)
        } catch {
            // Not the caller's fault: free the slot without counting a failure against them.
            guardState.withLock { $0.release(ticket) }
            return .failed(error)
        }
        var ok = false
        if let client { ok = await verify(credentials.secret, digest: digest, for: client) }
        guardState.withLock { $0.settle(ticket, success: ok, now: .now) }
        if !ok { noteForOtherReplicas(clientID: credentials.id, address: address) }
        guard ok, let client else { return .refused(client == nil ? .unknownClient : .wrongSecret) }
        return .authenticated(client)
    }

    /// The fast path's credentials with the secret's SHA-256; nil when they are not plainly there
    /// (then the slow path decides and answers). A known client sends the same `Authorization`
    /// header on every request, so decoded Basic headers are kept (``rememberDecoded``): base64
    /// and percent-decoding cost more than the rest of the check.
    func fastCredentials(authorization: String?, form: [String: String]) -> (credentials: Credentials, digest: [UInt8])? {
        guard let authorization else {
            guard let credentials = try? Self.credentials(authorization: nil, form: form) else { return nil }
            return (credentials, Crypto.sha256(credentials.secret))
        }
        if let known = decodedHeaders.withLock({ $0[authorization] }) {
            let basic = BasicCredentials.Parsed.credentials(id: known.credentials.id, secret: known.credentials.secret)
            guard let credentials = try? Self.credentials(authorization: authorization, form: form, basic: basic) else { return nil }
            return (credentials, known.digest)
        }
        guard let credentials = try? Self.credentials(authorization: authorization, form: form) else { return nil }
        return (credentials, Crypto.sha256(credentials.secret))
    }

    /// Keeps a decoded Basic header once it has admitted its client (so only headers of real
    /// clients with their right secrets, never a flood of made-up ones), if it is of a sane size.
    func rememberDecoded(authorization: String, credentials: Credentials, digest: [UInt8]) {
        guard credentials.method == .basic, authorization.utf8.count <= 512 else { return }
        decodedHeaders.withLock { headers in
            if headers.count >= 10_000 { headers.removeAll() }
            headers[authorization] = (credentials, digest)
        }
    }

    /// The fast path's whole check, without I/O: true when `secret` is the one already verified
    /// for this client's current stored hash and the guard lets the client in, which it records
    /// as a success exactly as ``authenticate(_:context:form:)`` would. False means "not known
    /// here": the caller must go the slow way, which decides and logs; nothing is recorded then.
    func admitVerified(_ credentials: Credentials, digest: [UInt8], client: OAuthClient, address: String) -> Bool {
        guard let cached = verified.withLock({ $0[client.id] }), cached.storedHash == client.secretHash,
            Crypto.constantTimeEquals(cached.digest, digest)
        else { return false }
        return guardState.withLock { state in
            guard case .granted(let ticket) = state.reserve(clientID: credentials.id, address: address, now: .now) else { return false }
            state.settle(ticket, success: true, now: .now)
            return true
        }
    }

    private func record(failure: Bool, clientID: String?, address: String) {
        if failure { noteForOtherReplicas(clientID: clientID, address: address) }
        guardState.withLock { state in
            if failure {
                state.recordFailure(clientID: clientID, address: address, now: .now)
            } else if let clientID {
                state.recordSuccess(clientID: clientID, address: address, now: .now)
            }
        }
    }

    private func verify(_ secret: String, digest: [UInt8], for client: OAuthClient) async -> Bool {
        let cached = verified.withLock { $0[client.id] }
        if let cached, cached.storedHash == client.secretHash {
            return Crypto.constantTimeEquals(cached.digest, digest)
        }
        // PBKDF2 takes tens of milliseconds: keep it off the event loops.
        let hash = client.secretHash
        let ok = (try? await NIOThreadPool.singleton.runIfActive { ClientSecret.verify(secret, against: hash) }) ?? false
        if ok {
            verified.withLock { entries in
                if entries.count >= 10_000 { entries.removeAll() }
                entries[client.id] = VerifiedSecret(storedHash: hash, digest: digest)
            }
        }
        return ok
    }

    /// Reads the credentials from the Authorization header or the form, never both.
    static func credentials(
        authorization: String?, form: [String: String], basic decoded: BasicCredentials.Parsed? = nil
    ) throws(APIError) -> Credentials {
        if let authorization {
            let basic = decoded ?? BasicCredentials.parse(authorization)
            guard basic != .notBasic else {
                throw OAuthError.invalidClient("use HTTP Basic or client_secret_post to authenticate the client", challenge: true)
            }
            guard form["client_secret"] == nil else {
                throw OAuthError.invalidRequest("use only one client authentication method")
            }
            guard case .credentials(let id, let secret) = basic else {
                throw OAuthError.invalidClient("malformed HTTP Basic credentials", challenge: true)
            }
            if let formID = form["client_id"], formID != id {
                throw OAuthError.invalidRequest("client_id in the body does not match the Authorization header")
            }
            try requireWellFormed(id, challenge: true)
            return Credentials(id: id, secret: secret, method: .basic)
        }
        guard let id = form["client_id"], let secret = form["client_secret"] else {
            throw OAuthError.invalidClient("client authentication is required (HTTP Basic or client_id and client_secret)", challenge: true)
        }
        try requireWellFormed(id, challenge: false)
        return Credentials(id: id, secret: secret, method: .post)
    }

    /// An id no client can have is refused before any lookup, answered like an unknown client.
    /// SQLite reads a bound string only up to a NUL byte, so `hotel-client%00x` would otherwise
    /// find `hotel-client` while the guard counted failures under a fresh id for every suffix.
    private static func requireWellFormed(_ id: String, challenge: Bool) throws(APIError) {
        guard (try? ClientStore.validate(id: id)) != nil else {
            throw OAuthError.invalidClient("client authentication failed", challenge: challenge)
        }
    }
}
