#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Why a token was refused. Each case's description is fit for an RFC 6750 `error_description`.
public enum TokenError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    case tooLarge(limit: Int)
    case unsupportedAlgorithm(String)
    case missingKeyID
    case unknownKeyID(String)
    case invalidSignature
    case missingClaim(String)
    case expired(at: Int64)
    case notYetValid(until: Int64)
    case invalidIssuer(String?)
    case invalidAudience(expected: String)

    public var description: String {
        switch self {
        case .malformed(let reason): return "malformed token: \(reason)"
        case .tooLarge(let limit): return "token is longer than \(limit) bytes"
        case .unsupportedAlgorithm(let alg): return "algorithm \"\(alg)\" is not accepted, only RS256"
        case .missingKeyID: return "token header has no kid"
        case .unknownKeyID(let kid): return "no signing key with kid \"\(kid)\" is known"
        case .invalidSignature: return "token signature does not verify"
        case .missingClaim(let claim): return "token has no \(claim) claim"
        case .expired(let at): return "token expired at \(Self.timestamp(at))"
        case .notYetValid(let until): return "token is not valid before \(Self.timestamp(until))"
        case .invalidIssuer(let issuer): return "token issuer \(issuer.map { "\"\($0)\"" } ?? "(none)") is not trusted"
        case .invalidAudience(let expected): return "token is not intended for audience \"\(expected)\""
        }
    }

    private static func timestamp(_ seconds: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601)
    }
}
