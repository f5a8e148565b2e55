import Foundation
import GatewayConfig
import Resilience

/// Prints a configuration back as routes.json, the inverse of `GatewayConfiguration.parse`.
/// When a field is added to routes.json it must be added here too, or the fuzz target reports
/// the difference as a crash on the first seed that sets it.
enum RoutesDocument {
    indirect enum JSON: Encodable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case array([JSON])
        case object([String: JSON])

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let value): try container.encode(value)
            case .number(let value): try container.encode(value)
            case .bool(let value): try container.encode(value)
            case .array(let value): try container.encode(value)
            case .object(let value): try container.encode(value)
            }
        }
    }

    static func render(_ configuration: GatewayConfiguration) -> Data {
        var root: [String: JSON] = [
            "routes": .array(configuration.routes.map(route)),
            "maxBodyBytes": .number(Double(configuration.maxBodyBytes)),
            "trustedProxies": .array(configuration.trustedProxies.map(JSON.string)),
        ]
        if let auth = configuration.auth {
            var section: [String: JSON] = [
                "issuer": .string(auth.issuer), "audience": .string(auth.audience), "jwks": .string(auth.jwksURL),
                "leewaySeconds": .number(Double(auth.leewaySeconds)), "jwksRefreshSeconds": .number(milliseconds(auth.jwksRefreshInterval) / 1000),
            ]
            if let revocations = auth.revocations {
                var fields: [String: JSON] = [
                    "url": .string(revocations.url), "clientId": .string(revocations.clientID),
                    "intervalMillis": .number(milliseconds(revocations.interval)), "failClosed": .bool(revocations.failClosed),
                ]
                if let file = revocations.clientSecretFile { fields["clientSecretFile"] = .string(file) }
                if let secret = revocations.clientSecret { fields["clientSecret"] = .string(secret) }
                section["revocations"] = .object(fields)
            }
            root["auth"] = .object(section)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(JSON.object(root))) ?? Data()
    }

    static func route(_ route: GatewayConfiguration.RouteSettings) -> JSON {
        var fields: [String: JSON] = [
            "id": .string(route.id), "path": .string(route.path), "upstreams": .array(route.upstreams.map(JSON.string)),
            "public": .bool(route.isPublic), "forwardToken": .bool(route.forwardToken),
            "timeoutMillis": .number(milliseconds(route.timeout)),
        ]
        if let methods = route.methods { fields["methods"] = .array(methods.map(JSON.string)) }
        if let rewrite = route.rewrite {
            if rewrite.isEmpty { fields["stripPrefix"] = .bool(true) } else { fields["rewrite"] = .string(rewrite) }
        }
        if !route.scopes.isEmpty {
            fields["scopes"] = .object(route.scopes.mapValues { .array($0.map(JSON.string)) })
        }
        if let rateLimit = route.rateLimit {
            fields["rateLimit"] = .object([
                "perSecond": .number(rateLimit.bucket.perSecond), "burst": .number(Double(rateLimit.bucket.burst)),
                "key": .string(rateLimit.key.rawValue),
            ])
        }
        if let breaker = route.circuitBreaker {
            fields["circuitBreaker"] = .object([
                "failureRatePercent": .number(breaker.failureRatePercent), "slowCallRatePercent": .number(breaker.slowCallRatePercent),
                "slowCallMillis": .number(milliseconds(breaker.slowCallDuration)), "minimumCalls": .number(Double(breaker.minimumCalls)),
                "windowSeconds": .number(milliseconds(breaker.window) / 1000), "openSeconds": .number(milliseconds(breaker.openDuration) / 1000),
                "halfOpenCalls": .number(Double(breaker.halfOpenCalls)),
            ])
        } else {
            fields["circuitBreaker"] = .bool(false)
        }
        if let maxBody = route.maxBodyBytes { fields["maxBodyBytes"] = .number(Double(maxBody)) }
        return .object(fields)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds / 1_000_000_000_000_000)
    }
}
