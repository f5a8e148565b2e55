import ArgumentParser
import AsyncHTTPClient
import Foundation
import Tokens

/// `portier tokens`: operator tools for access tokens.
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Look into access tokens.",
        subcommands: [Inspect.self]
    )

    /// `portier tokens inspect <token>`: decodes a token with libjwt and says whether it verifies
    /// against the token server's JWKS, which key signed it, and when it expires or why it is refused.
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode a token (with libjwt) and check it against the token server's keys.",
            discussion: "Exit status: 0 when the token is valid now, 1 when it is refused, 2 when the keys cannot be read."
        )

        @Argument(help: "The access token (a compact JWT), or - to read it from standard input.") var token: String

        @Option(name: .customLong("jwks-url"), help: "The token server's JWKS (env PORTIER_JWKS_URL).")
        var jwksURL: String = Env.string("PORTIER_JWKS_URL", "http://127.0.0.1:8090/.well-known/jwks.json")

        @Option(name: .customLong("keys-dir"), help: "Read the keys from this directory instead of the JWKS (the token server may be down).")
        var keysDirectory: String?

        @Option(help: "Also require this iss.") var issuer: String?
        @Option(help: "Also require this aud.") var audience: String?

        func run() async throws {
            let text = token == "-" ? (readLine(strippingNewline: true) ?? "") : token
            let keys: VerificationKeys
            let source: String
            do {
                (keys, source) = try await loadKeys()
            } catch {
                Console.write("portier tokens inspect: cannot read the keys: \(error)")
                throw ExitCode(2)
            }
            let inspection = TokenInspection.inspect(text.trimmingCharacters(in: .whitespaces), keys: keys, issuer: issuer, audience: audience)
            Console.write(Self.report(inspection, source: source))
            if inspection.verdict != .valid { throw ExitCode(1) }
        }

        private func loadKeys() async throws -> (VerificationKeys, String) {
            if let keysDirectory {
                return (try KeyStore(directory: keysDirectory).load().verificationKeys, keysDirectory)
            }
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: jwksURL), timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { throw InspectError("\(jwksURL) answered \(response.status.code)") }
            return (VerificationKeys(jwks: try JSONDecoder().decode(JWKSet.self, from: Data(buffer: body))), jwksURL)
        }

        static func report(_ inspection: TokenInspection, source: String, now: Int64 = TokenVerifier.now()) -> String {
            var lines: [String] = []
            func line(_ label: String, _ value: String) { lines.append(label.padding(toLength: 10, withPad: " ", startingAt: 0) + value) }
            line("alg", inspection.algorithm ?? "(none)")
            if let kid = inspection.kid {
                line("key", kid + (inspection.signatureVerified ? " (signature verified by libjwt against \(source))" : ""))
            }
            if let claims = inspection.claims {
                line("client", "\(claims.clientID ?? "(no client_id)") (sub \(claims.sub ?? "(none)"))")
                line("scope", claims.scope ?? "(none)")
                if let iss = claims.iss { line("issuer", iss) }
                if !claims.aud.isEmpty { line("audience", claims.aud.joined(separator: " ")) }
                if let iat = claims.iat { line("issued", TokenInspection.timestamp(iat)) }
                if let exp = claims.exp {
                    line("expires", "\(TokenInspection.timestamp(exp)) (\(TokenInspection.relative(exp, now: now)))")
                }
                if let jti = claims.jti { line("jti", jti) }
            }
            switch inspection.verdict {
            case .valid: line("verdict", "valid: signed by a current key and within its lifetime")
            case .refused(let reason): line("verdict", "refused: \(reason)")
            }
            return lines.joined(separator: "\n")
        }
    }
}

struct InspectError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
