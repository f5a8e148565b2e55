import Foundation
import PortierTestSupport
import Testing
import TokenServer
import Tokens

/// The token endpoint answers a known client on the event loop from the client row it keeps, and
/// hands every other request to the regular handler. A caller must not be able to tell the two
/// apart, and a kept row must never outlive a change made by `portier clients` in another process.
@Suite struct TokenFastPathTests {
    /// The first token of a client is checked with PBKDF2 by the regular handler; the next ones are
    /// answered from what it learned. Both must carry the same headers and the same kind of token.
    @Test func theFirstAndTheNextTokensLookAlike() async throws {
        try await AuthFixture.run { auth in
            var responses: [TestHTTPResponse] = []
            for _ in 0..<3 {
                responses.append(try await HTTP.form(auth.tokenURL, [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", auth.demoSecret)]))
            }
            let names = { (response: TestHTTPResponse) in Set(response.headers.map { $0.name.lowercased() }) }
            for response in responses {
                #expect(response.status == 200)
                #expect(names(response) == names(responses[0]))
                #expect(response.header("Content-Type") == "application/json" && response.header("Cache-Control") == "no-store")
                #expect(response.header("Pragma") == "no-cache" && response.header("Server") == "portier-auth")
                #expect(response.header("X-Request-Id")?.isEmpty == false && response.header("Date")?.hasSuffix(" GMT") == true)
                #expect(Set(response.json.keys) == ["access_token", "token_type", "expires_in", "scope", "jti"])
                let token = try #require(response.json["access_token"] as? String)
                let claims = try auth.verifier.verify(token, keys: try await auth.verifierKeys()).claims
                #expect(claims.clientID == "hotel-client" && claims.scope == "read write" && claims.jti == response.json["jti"] as? String)
            }
            #expect(Set(responses.compactMap { $0.json["jti"] as? String }).count == 3, "every token has its own jti")
            // A caller's request id comes back as on every other endpoint.
            let traced = try await HTTP.form(
                auth.tokenURL, [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", auth.demoSecret), ("X-Request-Id", "trace-7")]
            )
            #expect(traced.status == 200 && traced.header("X-Request-Id") == "trace-7")
        }
    }

    /// Pipelined requests on one connection are answered in order, whichever handler answers each.
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await AuthFixture.run { auth in
            _ = try await auth.token()  // the regular handler learns the secret
            let port = try #require(URLComponents(string: auth.base)?.port)
            let form = "grant_type=client_credentials"
            func post(_ secret: String, close: Bool = false) -> String {
                let basic = Data("hotel-client:\(secret)".utf8).base64EncodedString()
                return "POST /oauth/token HTTP/1.1\r\nHost: auth\r\nAuthorization: Basic \(basic)\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n"
                    + (close ? "Connection: close\r\n" : "") + "\r\n" + form
            }
            let requests = post(auth.demoSecret) + "GET /health/live HTTP/1.1\r\nHost: auth\r\n\r\n" + post(auth.demoSecret)
                + post("wrong-secret") + post(auth.demoSecret, close: true)
            let answer = try await RawSocket.sendAndReadUntilClosed(port: port, requests)
            // Each response follows the previous body directly: split at the status lines.
            let statuses = answer.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
            #expect(statuses == ["200", "200", "200", "401", "200"], "\(answer)")
            #expect(answer.components(separatedBy: "\"access_token\"").count == 4, "three tokens")
        }
    }

    /// What `portier clients rotate-secret`, `set-scopes` and `remove` change in another process
    /// holds from the moment they return, though the server kept the row it read before.
    @Test func aKeptClientRowNeverOutlivesAChangeFromAnotherProcess() async throws {
        try await AuthFixture.run { auth in
            func token(_ secret: String) async throws -> TestHTTPResponse {
                try await HTTP.form(auth.tokenURL, [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", secret)])
            }
            for _ in 0..<3 { #expect(try await token(auth.demoSecret).status == 200) }

            let store = try ClientStoreForTests.open(auth)  // its own SQLite connections, as the CLI has
            let newSecret = try await store.rotateSecret(id: "hotel-client")
            let refused = try await token(auth.demoSecret)
            #expect(refused.status == 401 && refused.json["error"] as? String == "invalid_client", "the old secret stops at once")
            #expect(try await token(newSecret).status == 200)
            #expect(try await token(newSecret).status == 200)

            try await store.setScopes(id: "hotel-client", scopes: ["read"])
            let narrowed = try await token(newSecret)
            #expect(narrowed.status == 200 && narrowed.json["scope"] as? String == "read")

            try await store.remove(id: "hotel-client")
            #expect(try await token(newSecret).status == 401, "a removed client gets nothing")
        }
    }
}
