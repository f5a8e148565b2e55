import Foundation
import Gateway
import Testing

/// Route matching and the upstream rewrite compare bytes, as the path arrives on the wire. Found
/// by the FuzzRouteMatch target (Fuzz/corpus/RouteMatch/non-ascii-prefix.txt): a non-ASCII route
/// prefix was dropped as that many Characters, so '/café/menu' was forwarded as '/v2menu'.
@Suite struct RouteTableTests {
    func table(_ route: String) throws -> RouteTable {
        let json = #"{"routes": [{"id": "menu", "path": "/café", "upstreams": ["http://u:1"], "public": true, \#(route)}]}"#
        return RouteTable(configuration: try GatewayConfiguration.parse(Data(json.utf8)))
    }

    @Test func aNonASCIIPrefixIsRewrittenOnItsOwnBytes() throws {
        let route = try #require(try table(#""rewrite": "/v2""#).match("/café/menu"))
        #expect(route.upstreamPath(for: "/café/menu") == "/v2/menu")
    }

    @Test func aNonASCIIPrefixIsStrippedOnItsOwnBytes() throws {
        let route = try #require(try table(#""stripPrefix": true"#).match("/café/menu"))
        #expect(route.upstreamPath(for: "/café/menu") == "/menu")
        #expect(route.upstreamPath(for: "/café") == "/")
    }

    /// FuzzRouteMatch again (Fuzz/corpus/RouteMatch/strip-combining-mark-after-slash.txt): "/"
    /// followed by a combining mark is one Character that is not "/", so the rest of a stripped
    /// path looked relative and got a second slash.
    @Test func aCombiningMarkAfterTheSlashDoesNotDoubleIt() throws {
        let route = try #require(try table(#""stripPrefix": true"#).match("/café/\u{64D}x"))
        #expect(Array(route.upstreamPath(for: "/café/\u{64D}x").utf8) == Array("/\u{64D}x".utf8))
    }

    @Test func aCanonicallyEquivalentSpellingIsAnotherPath() throws {
        // "e" + combining acute equals "é" as a Swift String, but not as bytes on the wire.
        #expect(try table(#""timeoutMillis": 1000"#).match("/cafe\u{301}/menu") == nil)
    }
}
