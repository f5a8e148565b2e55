import Foundation
import PortierTestSupport
import Testing

/// RFC 6749 section 5.2: status, headers and JSON body of every error the token endpoint sends.
@Suite struct OAuthErrorTests {
    func expectError(
        _ response: TestHTTPResponse, status: Int, error: String, challenge: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(response.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
        #expect(response.json["error"] as? String == error, "body: \(response.text)", sourceLocation: sourceLocation)
        #expect(!((response.json["error_description"] as? String) ?? "").isEmpty, sourceLocation: sourceLocation)
        #expect(response.header("Cache-Control") == "no-store", sourceLocation: sourceLocation)
        if challenge {
            #expect(response.header("WWW-Authenticate") == "Basic realm=\"portier\"", sourceLocation: sourceLocation)
        } else {
            #expect(response.header("WWW-Authenticate") == nil, sourceLocation: sourceLocation)
        }
    }

    @Test func missingGrantTypeIsAnInvalidRequest() async throws {
        try await AuthFixture.run { auth in
            let response = try await HTTP.form(auth.tokenURL, [("scope", "read")], headers: [HTTP.basic("hotel-client", auth.demoSecret)])
            expectError(response, status: 400, error: "invalid_request")
        }
    }

    @Test func duplicatedParametersAreAnInvalidRequest() async throws {
        try await AuthFixture.run { auth in
            let response = try await HTTP.form(
                auth.tokenURL, [("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
                headers: [HTTP.basic("hotel-client", auth.demoSecret)]
            )
            expectError(response, status: 400, error: "invalid_request")
            #expect((response.json["error_description"] as? String)?.contains("grant_type") == true)
        }
    }

    @Test func aJSONBodyIsAnInvalidRequest() async throws {
        try await AuthFixture.run { auth in
            let response = try await HTTP.json(
                .POST, auth.tokenURL, ["grant_type": "client_credentials"], headers: [HTTP.basic("hotel-client", auth.demoSecret)]
            )
            expectError(response, status: 400, error: "invalid_request")
        }
    }

    @Test func twoClientAuthenticationMethodsAreAnInvalidRequest() async throws {
        try await AuthFixture.run { auth in
            let response = try await HTTP.form(
                auth.tokenURL, [("grant_type", "client_credentials"), ("client_id", "hotel-client"), ("client_secret", auth.demoSecret)],
                headers: [HTTP.basic("hotel-client", auth.demoSecret)]
            )
            expectError(response, status: 400, error: "invalid_request")
        }
    }

    @Test func wrongSecretOverBasicIsInvalidClientWithAChallenge() async throws {
        try await AuthFixture.run { auth in
            let response = try await HTTP.form(auth.tokenURL, [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", "wrong-secret")])
            expectError(response, status: 401, error: "invalid_client", challenge: true)
        }
    }

    @Test func unknownClientOverBasicLooksExactlyLikeAWrongSecret() async throws {
        try await AuthFixture.run { auth in
            let unknown = try await HTTP.form(auth.tokenURL, [("grant_type", "client_credentials")], headers: [HTTP.basic("nobody", "whatever-secret")])
            let wrong = try await HTTP.form(auth.tokenURL, [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", "whatever")])
            expectError(unknown, status: 401, error: "invalid_client", challenge: true)
            #expect(unknown.json["error_description"] as? String == wrong.json["error_description"] as? String)
        }
    }

    @Test func wrongSecretInTheFormIsInvalidClientWithoutABasicChallenge() async throws {
        try await AuthFixture.run { auth in
            let response = try await HTTP.form(
                auth.tokenURL, [("grant_type", "client_credentials"), ("client_id", "hotel-client"), ("client_secret", "wrong")]
            )
            expectError(response, status: 401, error: "invalid_client", challenge: false)
        }
    }

    @Test func noClientAuthenticationAtAllIsInvalidClient() async throws {
        try await AuthFixture.run { auth in
            let response = try await HTTP.form(auth.tokenURL, [("grant_type", "client_credentials")])
            expectError(response, status: 401, error: "invalid_client", challenge: true)
        }
    }

    @Test func otherGrantTypesAreUnsupported() async throws {
        try await AuthFixture.run { auth in
            let response = try await HTTP.form(
                auth.tokenURL, [("grant_type", "password"), ("username", "u"), ("password", "p")],
                headers: [HTTP.basic("hotel-client", auth.demoSecret)]
            )
            expectError(response, status: 400, error: "unsupported_grant_type")
        }
    }

    @Test func unknownScopeIsInvalidScope() async throws {
        try await AuthFixture.run { auth in
            let response = try await HTTP.form(
                auth.tokenURL, [("grant_type", "client_credentials"), ("scope", "delete-everything")],
                headers: [HTTP.basic("hotel-client", auth.demoSecret)]
            )
            expectError(response, status: 400, error: "invalid_scope")
        }
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        try await AuthFixture.run { auth in
            let response = try await HTTP.request(.GET, auth.tokenURL)
            #expect(response.status == 405)
            #expect(response.header("Allow") == "POST")
            #expect(response.json["error"] as? String == "method_not_allowed")
        }
    }

    @Test func anOversizedBodyIs413WithoutBeingParsed() async throws {
        try await AuthFixture.run { auth in
            let body = "grant_type=client_credentials&pad=" + String(repeating: "x", count: 100_000)
            let response = try await HTTP.request(
                .POST, auth.tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded"), HTTP.basic("hotel-client", auth.demoSecret)],
                body: Array(body.utf8)
            )
            #expect(response.status == 413)
            #expect(response.json["error"] as? String == "invalid_request")
        }
    }

    @Test func unknownPathIsAJSON404() async throws {
        try await AuthFixture.run { auth in
            let response = try await HTTP.request(.GET, auth.base + "/oauth/nothing")
            #expect(response.status == 404)
            #expect(response.json["error"] as? String == "not_found")
            #expect(response.header("X-Request-Id") != nil)
        }
    }
}
