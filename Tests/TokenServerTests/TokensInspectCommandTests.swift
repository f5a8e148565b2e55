import Foundation
import PortierTestSupport
import Testing
import Tokens

/// `portier tokens inspect`, run as the operator runs it: a real child process against a real
/// token server's JWKS (or its keys directory).
@Suite struct TokensInspectCommandTests {
    func inspect(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = try ChildProcess(["tokens", "inspect"] + arguments)
        let status = try await process.waitForExit()
        return (status, process.lines.joined(separator: "\n"))
    }

    @Test func aFreshTokenIsValidAndNamesTheKeyThatSignedIt() async throws {
        try await AuthFixture.run { auth in
            let token = try await auth.token()
            let kid = try #require(TokenVerifier.unverifiedKeyID(of: token))
            let (status, output) = try await inspect([token, "--jwks-url", auth.base + "/.well-known/jwks.json", "--issuer", "http://auth.test"])
            #expect(status == 0, "\(output)")
            #expect(output.contains("key       \(kid) (signature verified by libjwt"))
            #expect(output.contains("client    hotel-client (sub hotel-client)"))
            #expect(output.contains("verdict   valid"))

            let offline = try await inspect([token, "--keys-dir", auth.keysDirectory])
            #expect(offline.status == 0 && offline.output.contains("verdict   valid"), "\(offline.output)")
        }
    }

    @Test func aTamperedTokenIsRefusedWithTheReason() async throws {
        try await AuthFixture.run { auth in
            let token = try await auth.token()
            // Another client's claims under the same signature.
            var parts = token.split(separator: ".").map(String.init)
            parts[1] = Base64URL.encode(String(decoding: try #require(Base64URL.decode(parts[1])), as: UTF8.self).replacingOccurrences(of: "hotel-client", with: "other-client"))
            let (status, output) = try await inspect([parts.joined(separator: "."), "--jwks-url", auth.base + "/.well-known/jwks.json"])
            #expect(status == 1, "\(output)")
            #expect(output.contains("verdict   refused: the signature does not verify with key"))
            #expect(output.contains("client    other-client"), "the unverified claims are shown for the operator")
        }
    }

    @Test func unreadableKeysAreExitStatusTwo() async throws {
        let (status, output) = try await inspect(["a.b.c", "--jwks-url", "http://127.0.0.1:9/.well-known/jwks.json"])
        #expect(status == 2)
        #expect(output.contains("cannot read the keys"))
    }
}
