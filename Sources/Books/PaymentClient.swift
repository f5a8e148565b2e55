import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import HotelAPI
import PortierClients
import PortierHTTP
import Resilience

/// books -> payments, synchronous, behind a circuit breaker and a timeout, with books' own service token.
///
/// Payments refuses to create or void payments without a token carrying `payments:write`; books gets
/// one as its own client (`portier-books`) and sends it on every call. A 401 from payments drops the
/// token and the call is repeated once with a fresh one (payments checks the token before anything else,
/// so nothing was done).
final class PaymentClient: Sendable {
    enum Outcome: Sendable {
        case approved(paymentID: Int64)
        /// Payments answered and refused.
        case declined(String)
        /// Payments was not asked (breaker open) or could not answer; nothing was charged.
        case unavailable(retryAfter: Int)
        /// Payments may or may not have charged (timeout, 5xx, dropped connection); void to be sure.
        case uncertain(retryAfter: Int)
    }

    let baseURL: String
    let client: HTTPClient
    let breaker: SharedCircuitBreaker
    let timeout: Duration
    let tokens: ServiceTokenProvider
    let logger: Logger

    init(
        baseURL: String, client: HTTPClient, breaker: CircuitBreaker.Configuration, timeout: Duration, tokens: ServiceTokenProvider, logger: Logger
    ) {
        self.baseURL = baseURL
        self.client = client
        self.breaker = SharedCircuitBreaker(configuration: breaker)
        self.timeout = timeout
        self.tokens = tokens
        self.logger = logger
    }

    func pay(_ payment: PaymentRequest) async -> Outcome {
        // Without a token payments is not asked: nothing is charged, and payments' breaker is not to blame.
        let token: String
        do {
            token = try await tokens.token()
        } catch {
            logger.error("no service token for payments", metadata: ["book_id": .stringConvertible(payment.bookId), "error": .string("\(error)")])
            return .unavailable(retryAfter: 1)
        }
        let started = ContinuousClock.now
        if case .rejected(let retryAfter) = breaker.acquire(now: started) {
            return .unavailable(retryAfter: retryAfter)
        }
        do {
            let (status, body) = try await post(PaymentsContract.payPath, payment, token: token)
            let elapsed = ContinuousClock.now - started
            switch status {
            case 401, 403:
                // Refused before anything was done: books' credentials or payments' settings are wrong.
                breaker.record(.success(elapsed))
                logger.error(
                    "payments refused books' service token",
                    metadata: ["status": .stringConvertible(status), "answer": .string(Self.reason(body) ?? "-")]
                )
                return .unavailable(retryAfter: 1)
            case 200, 201:
                breaker.record(.success(elapsed))
                guard let id = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["id"] as? Int else {
                    return .uncertain(retryAfter: 1)
                }
                return .approved(paymentID: Int64(id))
            case 500...:
                breaker.record(.failure(elapsed))
                return .uncertain(retryAfter: 1)
            default:
                breaker.record(.success(elapsed))
                return .declined(Self.reason(body) ?? "payment refused with status \(status)")
            }
        } catch let error as ServiceTokenError {
            // Payments answered 401 and no new token could be had: nothing was charged.
            breaker.record(.success(ContinuousClock.now - started))
            logger.error("no new service token for payments", metadata: ["book_id": .stringConvertible(payment.bookId), "error": .string("\(error)")])
            return .unavailable(retryAfter: 1)
        } catch {
            breaker.record(.failure(ContinuousClock.now - started))
            logger.warning("payment call failed", metadata: ["book_id": .stringConvertible(payment.bookId), "error": .string("\(error)")])
            // A connection that never opened sent nothing; anything later may have reached payments.
            if case .connect = UpstreamFailure(error) { return .unavailable(retryAfter: 1) }
            return .uncertain(retryAfter: 1)
        }
    }

    /// Cancels the booking's payment, or makes sure none can be created later.
    func void(bookID: Int64) async throws {
        let (status, body) = try await post(PaymentsContract.voidPath, VoidRequest(bookId: bookID), token: try await tokens.token())
        guard status == 200 else { throw PaymentClientError("void answered \(status)\(Self.reason(body).map { ": \($0)" } ?? "")") }
    }

    /// POSTs with the service token; on a 401 the token is dropped and the call repeated once with a new one.
    private func post(_ path: String, _ body: some Encodable, token: String) async throws -> (Int, Data) {
        let first = try await post(path, body, bearer: token)
        guard first.0 == 401 else { return first }
        tokens.invalidate(token)
        let fresh = try await tokens.token()
        guard fresh != token else { return first }
        logger.info("payments refused the service token; retrying with a new one", metadata: ["path": .string(path)])
        return try await post(path, body, bearer: fresh)
    }

    private func post(_ path: String, _ body: some Encodable, bearer token: String) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
        let data = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), Data(buffer: data))
    }
}

extension PaymentClient {
    /// The `error_description` of a JSON error answer.
    static func reason(_ body: Data) -> String? {
        (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error_description"] as? String
    }
}

struct PaymentClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
