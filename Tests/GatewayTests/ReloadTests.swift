import Foundation
import PortierTestSupport
import Testing
import Tokens

/// routes.json changes while the gateway runs: the three ways files get replaced in practice, a
/// broken file, and state that must survive.
@Suite struct ReloadTests {
    static func table(_ ports: GatewayHarness.Ports, extra: [[String: Any]] = [], roomsLimit: Int = 2) -> [String: Any] {
        [
            "routes": [
                [
                    "id": "rooms", "path": "/rooms", "upstreams": [ports.upstream("a")], "public": true,
                    "rateLimit": ["perSecond": 0.01, "burst": roomsLimit, "key": "ip"],
                ]
            ] + extra
        ]
    }

    static func withBooks(_ ports: GatewayHarness.Ports, roomsLimit: Int = 2) -> [String: Any] {
        table(ports, extra: [["id": "books", "path": "/books", "upstreams": [ports.upstream("a")], "public": true]], roomsLimit: roomsLimit)
    }

    static func data(_ document: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
    }

    func booksRouted(_ gw: GatewayHarness) async throws -> Bool {
        try await gw.get("/books").status == 200
    }

    @Test func aWriteInPlaceIsPickedUp() async throws {
        try await GatewayHarness.run(routes: { Self.table($0) }) { gw in
            #expect(try await gw.get("/books").status == 404)
            // Truncate and write the same inode, as editors like vi (with backupcopy) and `>` do.
            let handle = try #require(FileHandle(forWritingAtPath: gw.routesPath))
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Self.data(Self.withBooks(gw.ports)))
            try handle.close()
            #expect(try await eventually { try await booksRouted(gw) })
        }
    }

    @Test func aRenameOverTheFileIsPickedUp() async throws {
        try await GatewayHarness.run(routes: { Self.table($0) }) { gw in
            let temporary = gw.directory.sub("routes.json.new")
            try Self.data(Self.withBooks(gw.ports)).write(to: URL(fileURLWithPath: temporary))
            #expect(rename(temporary, gw.routesPath) == 0)
            #expect(try await eventually { try await booksRouted(gw) })
        }
    }

    /// Kubernetes mounts ConfigMaps as routes.json -> ..data/routes.json, ..data -> ..2026_v1, and
    /// updates by pointing ..data at a new directory with one atomic rename.
    @Test func aSymlinkSwapIsPickedUp() async throws {
        try await GatewayHarness.run(routes: { Self.table($0) }) { gw in
            let root = gw.directory.sub("configmap")
            let manager = FileManager.default
            try manager.createDirectory(atPath: root + "/..v1", withIntermediateDirectories: true)
            try manager.createDirectory(atPath: root + "/..v2", withIntermediateDirectories: true)
            // v1 adds /orders, v2 replaces it with /books: each version is visible in what routes.
            let orders: [String: Any] = ["id": "orders", "path": "/orders", "upstreams": [gw.ports.upstream("a")], "public": true]
            try Self.data(Self.table(gw.ports, extra: [orders])).write(to: URL(fileURLWithPath: root + "/..v1/routes.json"))
            try Self.data(Self.withBooks(gw.ports)).write(to: URL(fileURLWithPath: root + "/..v2/routes.json"))
            try manager.createSymbolicLink(atPath: root + "/..data", withDestinationPath: "..v1")
            try manager.createSymbolicLink(atPath: root + "/routes.json", withDestinationPath: "..data/routes.json")
            // The gateway reads routes.json through the links.
            try manager.removeItem(atPath: gw.routesPath)
            try manager.createSymbolicLink(atPath: gw.routesPath, withDestinationPath: root + "/routes.json")
            #expect(try await eventually { try await gw.get("/orders").status == 200 }, "v1 is read through both links")
            #expect(try await gw.get("/books").status == 404)

            try manager.createSymbolicLink(atPath: root + "/..data_tmp", withDestinationPath: "..v2")
            #expect(rename(root + "/..data_tmp", root + "/..data") == 0)
            #expect(try await eventually { try await booksRouted(gw) })
            #expect(try await gw.get("/orders").status == 404, "the swap replaced the table, it did not merge it")
        }
    }

    @Test func anInvalidFileIsRejectedAndTheOldTableKeepsServing() async throws {
        try await GatewayHarness.run(routes: { Self.table($0) }) { gw in
            try AtomicFile.write(Array("{ \"routes\": [ { \"id\": \"rooms\" ".utf8), to: gw.routesPath)
            #expect(try await eventually { try await gw.metrics().contains(#"portier_gateway_route_reloads_total{result="failed"} 1"#) })
            #expect(try await gw.get("/rooms").status == 200, "the last good table still serves")

            var broken = Self.withBooks(gw.ports)
            broken["routes"] = (broken["routes"] as! [[String: Any]]) + [["id": "books", "path": "/other", "upstreams": ["http://x"]]]
            try GatewayHarness.write(broken, to: gw.routesPath)
            #expect(try await eventually { try await gw.metrics().contains(#"portier_gateway_route_reloads_total{result="failed"} 2"#) })
            #expect(try await gw.get("/books").status == 404, "a table with one bad route is rejected whole")

            try GatewayHarness.write(Self.withBooks(gw.ports), to: gw.routesPath)
            #expect(try await eventually { try await booksRouted(gw) })
        }
    }

    @Test func limiterStateSurvivesAnUnrelatedReloadAndResetsWhenItsSettingsChange() async throws {
        try await GatewayHarness.run(routes: { Self.table($0) }) { gw in
            #expect(try await gw.get("/rooms").status == 200)
            #expect(try await gw.get("/rooms").status == 200)
            #expect(try await gw.get("/rooms").status == 429)

            try GatewayHarness.write(Self.withBooks(gw.ports), to: gw.routesPath)
            #expect(try await eventually { try await booksRouted(gw) })
            #expect(try await gw.get("/rooms").status == 429, "rooms' limiter kept its state across the reload")

            try GatewayHarness.write(Self.withBooks(gw.ports, roomsLimit: 5), to: gw.routesPath)
            #expect(try await eventually { try await gw.get("/rooms").header("RateLimit-Limit") == "5" })
        }
    }
}
