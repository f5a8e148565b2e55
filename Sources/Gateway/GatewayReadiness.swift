import Foundation
import HTTPTypes
import NIOCore
import PortierHTTP

/// `/health/ready`: the gateway can do its job only with routes, with signing keys when a route
/// needs tokens, and with a recently fetched revocation feed when one is configured. Kubernetes (and
/// `portier up`) keep traffic away until then; `/health/live` stays 200 throughout.
extension GatewayCore {
    struct ReadinessBody: Encodable {
        var status: String
        var reason: String?
    }

    /// The reasons the gateway is not ready; empty when it is.
    func notReadyReasons(now: ContinuousClock.Instant = .now) -> [String] {
        var reasons: [String] = []
        if table.routes.isEmpty { reasons.append("no routes are loaded") }
        if let auth = authGuard {
            if !auth.jwks.hasKeys { reasons.append("no token signing keys are loaded yet from \(auth.jwks.url)") }
            if let feed = auth.settings.revocations {
                let bound = RevocationList.stalenessBound(feed)
                if !revocations.isFresh(within: bound, now: now) {
                    let age = revocations.age(now: now).components.seconds
                    let why = revocations.lastFailure.map { ": \($0)" } ?? ""
                    reasons.append("the revocation feed has not been fetched for \(age) s (allowed: \(bound.components.seconds) s)\(why)")
                }
            }
        }
        return reasons
    }

    /// 200 `{"status":"up"}`, or 503 `{"status":"down","reason":...}` naming every missing piece.
    func readiness() -> LocalResponse {
        let reasons = notReadyReasons()
        let body = ReadinessBody(status: reasons.isEmpty ? "up" : "down", reason: reasons.isEmpty ? nil : reasons.joined(separator: "; "))
        let bytes = (try? JSONEncoder().encode(body)) ?? Data("{\"status\":\"down\"}".utf8)
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        if !reasons.isEmpty { headers[.retryAfter] = "1" }
        return LocalResponse(status: reasons.isEmpty ? .ok : .serviceUnavailable, headers: headers, body: ByteBuffer(bytes: bytes))
    }
}
