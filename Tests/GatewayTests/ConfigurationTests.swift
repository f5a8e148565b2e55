import Foundation
@testable import Gateway
import Testing

/// Every routes.json mistake names the route and the field.
@Suite struct ConfigurationTests {
    func error(_ json: String) -> String? {
        do {
            _ = try GatewayConfiguration.parse(Data(json.utf8))
            return nil
        } catch {
            return "\(error)"
        }
    }

    let auth = #""auth": {"issuer": "http://a", "audience": "hotel-api", "jwks": "http://a/jwks"}"#

    @Test func theShippedRoutesFileIsValid() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../routes.json").standardized
        let configuration = try GatewayConfiguration.parse(Data(contentsOf: url))
        #expect(Set(configuration.routes.map(\.path)).isSuperset(of: ["/rooms", "/books", "/payments", "/notifications", "/mypages", "/oauth", "/.well-known"]))
        let rooms = try #require(configuration.routes.first { $0.id == "rooms" })
        #expect(rooms.upstreams == ["http://127.0.0.1:8081"])
        #expect(rooms.scopes["GET"] == ["read"] && rooms.scopes["POST"] == ["write"] && rooms.scopes["DELETE"] == ["write"])
        #expect(configuration.routes.first { $0.id == "oauth" }?.isPublic == true)
        // Creating and voiding payments is books' business (with its own service token), never a caller's from outside:
        // the gateway lets only reads of /payments through, and answers 405 to anything else.
        let payments = try #require(configuration.routes.first { $0.id == "payments" })
        #expect(payments.methods == ["GET", "HEAD"])
        #expect(payments.scopes["GET"] == ["read"] && payments.scopes["POST"] == nil && payments.scopes["DELETE"] == nil)
        #expect(!payments.isPublic && !payments.forwardToken)
    }

    @Test func defaultsAreFilledIn() throws {
        let configuration = try GatewayConfiguration.parse(Data(#"{"routes": [{"id": "r", "path": "/r", "upstreams": ["http://u:1"], "public": true}]}"#.utf8))
        let route = configuration.routes[0]
        #expect(configuration.maxBodyBytes == 10 * 1024 * 1024)
        #expect(route.timeout == .seconds(15))
        #expect(route.circuitBreaker?.failureRatePercent == 50 && route.circuitBreaker?.minimumCalls == 20)
        #expect(route.rateLimit == nil && route.methods == nil && route.rewrite == nil)
    }

    @Test func rateLimitsSyncEvery100MillisecondsUnlessTold() throws {
        let json = #"""
            {"routes": [{"id": "a", "path": "/a", "upstreams": ["http://u:1"], "public": true, "rateLimit": {"perSecond": 5}},
                        {"id": "b", "path": "/b", "upstreams": ["http://u:1"], "public": true, "rateLimit": {"perSecond": 5, "syncMillis": 250}}]}
            """#
        let routes = try GatewayConfiguration.parse(Data(json.utf8)).routes
        #expect(routes[0].rateLimit?.syncInterval == .milliseconds(100))
        #expect(routes[1].rateLimit?.syncInterval == .milliseconds(250))
    }

    @Test(arguments: [
        (#"{"routes": [{"id": "books", "path": "/books", "upstreams": ["http://u:1"], "public": true, "rateLimit": {"perSecond": 5, "burst": 0}}]}"#,
         "route 'books': rateLimit.burst must be >= 1"),
        (#"{"routes": [{"id": "books", "path": "/books", "upstreams": ["http://u:1"], "public": true, "rateLimit": {"perSecond": 5, "syncMillis": 5}}]}"#,
         "route 'books': rateLimit.syncMillis must be >= 10"),
        (#"{"routes": [{"id": "books", "path": "/books", "upstreams": ["http://u:1"], "public": true, "ratelimit": {}}]}"#,
         "route 'books': unknown field 'ratelimit' (did you mean 'rateLimit'?)"),
        (#"{"routes": [{"id": "a", "path": "/a", "upstreams": ["http://u:1"], "public": true}, {"id": "a", "path": "/b", "upstreams": ["http://u:1"], "public": true}]}"#,
         "route 'a': id is used by another route"),
        (#"{"routes": [{"id": "a", "path": "/a", "upstreams": ["http://u:1"], "public": true}, {"id": "b", "path": "/a", "upstreams": ["http://u:1"], "public": true}]}"#,
         "route 'b': path /a is already routed by 'a'"),
        (#"{"routes": [{"id": "a", "path": "a", "upstreams": ["http://u:1"], "public": true}]}"#,
         "route 'a': path must start with / and contain no ?, # or //"),
        (#"{"routes": [{"id": "a", "path": "/a", "upstreams": ["ftp://u"], "public": true}]}"#,
         "route 'a': upstreams entry 'ftp://u' is not an http:// or https:// URL without query"),
        (#"{"routes": [{"id": "a", "path": "/a", "upstreams": [], "public": true}]}"#,
         "route 'a': upstreams must list at least one base URL"),
        (#"{"routes": [{"id": "a", "path": "/a", "upstreams": ["http://u:1"]}]}"#,
         "route 'a': needs tokens, so routes.json must have an auth section (or mark the route \"public\": true)"),
        (#"{"routes": [{"id": "a", "path": "/a", "upstreams": ["http://u:1"], "public": true, "timeoutMillis": "fast"}]}"#,
         "route 'a': timeoutMillis must be a number"),
        (#"{"routes": [{"id": "a", "path": "/a", "upstreams": ["http://u:1"], "public": true, "circuitBreaker": {"failureRatePercent": 150}}]}"#,
         "route 'a': circuitBreaker.failureRatePercent must be <= 100"),
        (#"{"routes": [{"id": "a", "path": "/a", "methods": ["GET", "FETCH"], "upstreams": ["http://u:1"], "public": true}]}"#,
         "route 'a': methods contains unknown method 'FETCH'"),
        (#"{"routes": [{"path": "/a", "upstreams": ["http://u:1"], "public": true}]}"#,
         "route #1: id is required"),
        (#"{"routes": {}}"#, "routes.json: routes must be a list of route objects"),
        (#"{"auth": {"issuer": "x", "audience": "y"}, "routes": []}"#, "auth: jwks is required"),
    ])
    func errorsNameTheRouteAndTheField(_ json: String, _ expected: String) {
        #expect(error(json) == expected)
    }

    @Test func invalidJSONSaysWhere() throws {
        let message = try #require(error("{\"routes\": [ }"))
        #expect(message.hasPrefix("routes.json is not valid JSON"))
    }

    @Test func scopesOnPublicRoutesAndUnknownScopeMethodsAreRejected() {
        #expect(error("{\(auth), \"routes\": [{\"id\": \"a\", \"path\": \"/a\", \"upstreams\": [\"http://u:1\"], \"public\": true, \"scopes\": {\"GET\": [\"read\"]}}]}")
            == "route 'a': scopes make no sense on a public route")
        #expect(error("{\(auth), \"routes\": [{\"id\": \"a\", \"path\": \"/a\", \"upstreams\": [\"http://u:1\"], \"methods\": [\"GET\"], \"scopes\": {\"POST\": [\"write\"]}}]}")
            == "route 'a': scopes.POST is not in the route's methods")
    }
}
