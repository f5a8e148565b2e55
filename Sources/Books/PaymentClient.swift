import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Payments
import PortierHTTP
import Resilience

/// books -> payments, synchronous, behind a circuit breaker and a timeout.
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
    let logger: Logger

    init(baseURL: String, client: HTTPClient, breaker: CircuitBreaker.Configuration, timeout: Duration, logger: Logger) {
        self.baseURL = baseURL
        self.client = client
        self.breaker = SharedCircuitBreaker(configuration: breaker)
        self.timeout = timeout
        self.logger = logger
    }

    func pay(_ payment: PaymentRequest) async -> Outcome {
        let started = ContinuousClock.now
        if case .rejected(let retryAfter) = breaker.acquire(now: started) {
            return .unavailable(retryAfter: retryAfter)
        }
        do {
            let (status, body) = try await post("/payments", payment)
            let elapsed = ContinuousClock.now - started
            switch status {
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
                let reason = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error_description"] as? String
                return .declined(reason ?? "payment refused with status \(status)")
            }
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
        let (status, _) = try await post("/payments/void", VoidRequest(bookId: bookID))
        guard status == 200 else { throw PaymentClientError("void answered \(status)") }
    }

    private func post(_ path: String, _ body: some Encodable) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
        let data = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), Data(buffer: data))
    }
}

struct PaymentClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
