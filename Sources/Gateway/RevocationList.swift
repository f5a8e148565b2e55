import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Synchronization

/// Token ids the token server has revoked, polled from its revocation list endpoint.
public final class RevocationList: Sendable {
    private let revoked = Mutex<Set<String>>([])
    private let lastError = Mutex<String?>(nil)
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func contains(_ jti: String) -> Bool {
        revoked.withLock { $0.contains(jti) }
    }

    struct Document: Decodable {
        struct Entry: Decodable {
            var jti: String
        }
        var revocations: [Entry]
    }

    /// Fetches the list once; on failure the previous list stays in force.
    func poll(_ settings: GatewayConfiguration.RevocationSettings, client: HTTPClient) async {
        do {
            let secret = try Self.secret(settings)
            var request = HTTPClientRequest(url: settings.url)
            let credentials = Data("\(settings.clientID):\(secret)".utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(credentials)")
            let response = try await client.execute(request, timeout: .seconds(2))
            let body = try await response.body.collect(upTo: 16 << 20)
            guard response.status == .ok else { throw JWKSError("revocation list answered \(response.status.code)") }
            let document = try JSONDecoder().decode(Document.self, from: Data(buffer: body))
            revoked.withLock { $0 = Set(document.revocations.map(\.jti)) }
            if lastError.withLock({ $0 }) != nil {
                lastError.withLock { $0 = nil }
                logger.info("revocation list reachable again", metadata: ["url": .string(settings.url)])
            }
        } catch {
            let text = "\(error)"
            let isNew = lastError.withLock { last in
                defer { last = text }
                return last != text
            }
            if isNew {
                logger.error("cannot fetch the revocation list; keeping the last one", metadata: ["url": .string(settings.url), "error": .string(text)])
            }
        }
    }

    static func secret(_ settings: GatewayConfiguration.RevocationSettings) throws -> String {
        if let secret = settings.clientSecret { return secret }
        guard let path = settings.clientSecretFile else { throw JWKSError("no client secret configured") }
        do {
            return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw JWKSError("cannot read clientSecretFile \(path)")
        }
    }
}
