import Foundation
import Gateway
import Testing

/// The routes.json keys for the revocation feed and JWKS refresh: defaults, and clear errors.
@Suite struct RevocationConfigurationTests {
    func parse(_ auth: String) throws -> GatewayConfiguration {
        try GatewayConfiguration.parse(
            Data(#"{"auth": {\#(auth)}, "routes": [{"id": "r", "path": "/r", "upstreams": ["http://u:1"]}]}"#.utf8)
        )
    }

    let base = #""issuer": "http://a", "audience": "hotel-api", "jwks": "http://a/jwks""#
    let feed = #""url": "http://a/oauth/revocations", "clientId": "portier-gateway", "clientSecret": "s""#

    @Test func failOpenAndFiveMinuteRefreshByDefault() throws {
        let auth = try #require(try parse(base + #", "leewaySeconds": 30, "revocations": {\#(feed)}"#).auth)
        #expect(auth.jwksRefreshInterval == .seconds(300))
        let revocations = try #require(auth.revocations)
        #expect(!revocations.failClosed)
        #expect(revocations.leewaySeconds == 30, "entries are kept until exp plus the verifier's leeway")
        #expect(revocations.interval == .seconds(2))
    }

    @Test func failClosedAndTheRefreshIntervalAreRead() throws {
        let auth = try #require(try parse(base + #", "jwksRefreshSeconds": 5, "revocations": {\#(feed), "failClosed": true}"#).auth)
        #expect(auth.jwksRefreshInterval == .seconds(5))
        #expect(auth.revocations?.failClosed == true)
        #expect(auth.revocations?.leewaySeconds == 60)
    }

    @Test func badValuesNameTheField() {
        func error(_ auth: String) -> String {
            do {
                _ = try parse(auth)
                return ""
            } catch {
                return "\(error)"
            }
        }
        let notBool = error(base + #", "revocations": {\#(feed), "failClosed": "yes"}"#)
        #expect(notBool.contains("failClosed") && notBool.contains("true or false"), "\(notBool)")
        let zero = error(base + #", "jwksRefreshSeconds": 0"#)
        #expect(zero.contains("jwksRefreshSeconds"), "\(zero)")
        let unknown = error(base + #", "revocations": {\#(feed), "failclosed": true}"#)
        #expect(unknown.contains("failclosed"), "a misspelt key is refused, not ignored: \(unknown)")
    }
}
