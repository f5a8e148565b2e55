import Foundation
import PortierTestSupport
import Testing

@testable import Gateway

/// The gateway as deploy/k8s runs it: routes.json from a ConfigMap volume, which the kubelet
/// updates by swapping a symlink, and the route table shipped in that ConfigMap.
@Suite struct KubernetesTests {
    /// What the kubelet's atomic writer does to a ConfigMap volume, with real files and links:
    /// `routes.json -> ..data/routes.json`, `..data -> ..<timestamp>`; an update writes a new
    /// timestamped directory, points `..data_tmp` at it, renames that over `..data`, and deletes the
    /// old directory.
    struct ConfigMapVolume {
        let root: String
        var generation = 0

        init(root: String) { self.root = root }

        /// The file the gateway is given, as it appears in the pod.
        var routesPath: String { root + "/routes.json" }

        /// Writes a new version. The first one also creates `..data` and the user-visible link.
        mutating func publish(_ content: Data) throws {
            let manager = FileManager.default
            generation += 1
            let directory = "..2026_11_30_12_0\(generation)_00.\(123_456_789 + generation)"
            try manager.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
            try content.write(to: URL(fileURLWithPath: root + "/" + directory + "/routes.json"))
            let previous = try? manager.destinationOfSymbolicLink(atPath: root + "/..data")
            try manager.createSymbolicLink(atPath: root + "/..data_tmp", withDestinationPath: directory)
            guard rename(root + "/..data_tmp", root + "/..data") == 0 else { throw HarnessError("rename ..data_tmp: errno \(errno)") }
            if let previous {
                try manager.removeItem(atPath: root + "/" + previous)
            }
        }

        /// The user-visible link, created once (relative, as the kubelet makes it), put in place with
        /// a rename so that `at` never goes missing.
        func link(at path: String) throws {
            try FileManager.default.createSymbolicLink(atPath: path + ".link", withDestinationPath: "..data/routes.json")
            guard rename(path + ".link", path) == 0 else { throw HarnessError("rename routes.json link: errno \(errno)") }
        }
    }

    @Test func aKubeletConfigMapUpdateIsServed() async throws {
        try await GatewayHarness.run(routes: { ReloadTests.table($0) }) { gw in
            // The harness's routes.json becomes the ConfigMap volume's: its directory is the mount.
            var volume = ConfigMapVolume(root: gw.directory.path)
            #expect(volume.routesPath == gw.routesPath)
            let route = { (id: String) -> [String: Any] in ["id": id, "path": "/" + id, "upstreams": [gw.ports.upstream("a")], "public": true] }

            try volume.publish(ReloadTests.data(ReloadTests.table(gw.ports, extra: [route("orders")])))
            try volume.link(at: gw.routesPath)
            #expect(try await eventually { try await gw.get("/orders").status == 200 }, "the first version is read through both links")

            // An update: /orders goes, /books comes. The directory the gateway read is deleted.
            try volume.publish(ReloadTests.data(ReloadTests.table(gw.ports, extra: [route("books")])))
            #expect(try await eventually { try await gw.get("/books").status == 200 }, "the swapped-in table serves")
            #expect(try await gw.get("/orders").status == 404, "the old table is gone, not merged")
            #expect(try await gw.get("/rooms").status == 200)

            // And the next update too, after the directory it first read no longer exists.
            try volume.publish(ReloadTests.data(ReloadTests.table(gw.ports, extra: [route("guests")])))
            #expect(try await eventually { try await gw.get("/guests").status == 200 })
            #expect(try await gw.get("/books").status == 404)
            let metrics = try await gw.metrics()
            #expect(metrics.contains(#"portier_gateway_route_reloads_total{result="ok"} 3"#), "one reload per version: \(metrics)")
            #expect(!metrics.contains(#"portier_gateway_route_reloads_total{result="failed"} 1"#))
            let entries = try FileManager.default.contentsOfDirectory(atPath: volume.root).filter { $0.hasPrefix("..2026") }
            #expect(entries.count == 1, "the kubelet keeps only the current version: \(entries)")
        }
    }

    static let manifests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/k8s").standardized.path

    static func manifest(_ name: String) throws -> String {
        try String(contentsOfFile: manifests + "/" + name, encoding: .utf8)
    }

    /// The `routes.json: |` block of the ConfigMap, unindented.
    static func configMapRoutes() throws -> Data {
        let lines = try manifest("gateway-routes.yaml").split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "routes.json: |" })
        let indent = String(repeating: " ", count: lines[start].prefix { $0 == " " }.count + 2)
        let block = lines[(start + 1)...].prefix { $0.hasPrefix(indent) || $0.isEmpty }.map { $0.dropFirst(indent.count) }
        return Data(block.joined(separator: "\n").utf8)
    }

    /// The value of env var `name` in a manifest (`- name: X` followed by `value: Y`).
    static func env(_ name: String, in manifest: String) -> String? {
        let lines = manifest.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let index = lines.firstIndex(of: "- name: \(name)"), index + 1 < lines.count, lines[index + 1].hasPrefix("value: ") else { return nil }
        return String(lines[index + 1].dropFirst("value: ".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// Every process's admin listener is reachable for a scraper: bound beyond loopback on the port
    /// its pod's annotation and containerPort name, and able to check admin tokens (the services
    /// against the token server's JWKS, the token server with its own keys).
    @Test(arguments: [("gateway", 9088), ("auth", 9090), ("rooms", 9081), ("books", 9082), ("payments", 9083), ("notifications", 9084), ("mypages", 9085)])
    func everyProcessExposesItsAdminListenerForScraping(process: String, adminPort: Int) throws {
        let manifest = try Self.manifest(process + ".yaml")
        let prefix = "PORTIER_\(process.uppercased())_ADMIN"
        #expect(Self.env(prefix + "_HOST", in: manifest) == "0.0.0.0")
        #expect(Self.env(prefix + "_PORT", in: manifest) == String(adminPort))
        #expect(manifest.contains("prometheus.io/port: \"\(adminPort)\""))
        #expect(manifest.contains("- name: admin\n              containerPort: \(adminPort)\n"))
        if process != "auth" && process != "gateway" {
            #expect(Self.env("PORTIER_AUTH_URL", in: manifest) == "http://auth.portier.svc:8090", "checks admin tokens against the JWKS")
        }
    }

    @Test func theConfigMapsRouteTableIsValidAndPointsAtTheServices() throws {
        let configuration = try GatewayConfiguration.parse(Self.configMapRoutes())
        #expect(Set(configuration.routes.map(\.path)) == ["/oauth", "/.well-known", "/rooms", "/books", "/payments", "/notifications", "/mypages"])
        #expect(configuration.routes.first { $0.id == "payments" }?.methods == ["GET", "HEAD"], "payment writes stay internal")
        // Every upstream is a Service of the namespace, on the port its manifest gives it.
        for route in configuration.routes {
            for upstream in route.upstreams {
                let url = try #require(URLComponents(string: upstream))
                let host = try #require(url.host)
                #expect(host.hasSuffix(".portier.svc"), "route \(route.id): \(upstream)")
                let service = String(host.prefix { $0 != "." })
                let manifest = try Self.manifest(service + ".yaml")
                #expect(
                    manifest.contains("\n      port: \(try #require(url.port))\n"),
                    "route \(route.id): \(service).yaml has no Service port \(url.port ?? 0)")
            }
        }
        // Tokens are checked against what the token server puts in them: the gateway's, payments'
        // and every admin listener's checks agree with it.
        let auth = try #require(configuration.auth)
        for process in ["auth", "rooms", "books", "payments", "notifications", "mypages"] {
            let manifest = try Self.manifest(process + ".yaml")
            #expect(Self.env("PORTIER_ISSUER", in: manifest) == auth.issuer, "\(process).yaml")
            #expect(Self.env("PORTIER_AUDIENCE", in: manifest) == auth.audience, "\(process).yaml")
        }
        #expect(auth.jwksURL.hasPrefix(try #require(Self.env("PORTIER_AUTH_URL", in: try Self.manifest("payments.yaml")))))
        // The gateway's revocation-feed secret is where gateway.yaml mounts it.
        let gateway = try Self.manifest("gateway.yaml")
        #expect(auth.revocations?.clientSecretFile == "/etc/portier/secrets/gateway-client.secret")
        #expect(gateway.contains("mountPath: /etc/portier/secrets") && gateway.contains("path: gateway-client.secret"))
        #expect(Self.env("PORTIER_ROUTES", in: gateway) == "/etc/portier/routes/routes.json")
    }
}
