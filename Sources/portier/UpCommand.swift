import ArgumentParser
import Foundation
import HotelSupport
import UnixSignals
#if canImport(Glibc)
import Glibc
#endif

/// `portier up`: the whole stack as child processes of one command.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the token server, the gateway and the five hotel services; restart any that crash; Ctrl-C stops all."
    )

    @Option(help: "Address every process listens on.") var host: String = Env.string("PORTIER_HOST", "127.0.0.1")
    @Option(name: .customLong("data-dir"), help: "Directory of the SQLite files and logs.") var dataDirectory: String = Env.string("PORTIER_DATA_DIR", "./data")
    @Option(name: .customLong("keys-dir"), help: "Directory of the signing keys.") var keysDirectory: String = Env.string("PORTIER_KEYS_DIR", "./keys")
    @Option(help: "The gateway's route table.") var routes: String = Env.string("PORTIER_ROUTES", "./routes.json")
    @Option(name: .customLong("gateway-port")) var gatewayPort = 8088
    @Option(name: .customLong("auth-port")) var authPort = 8090
    @Option(name: .customLong("rooms-port")) var roomsPort = 8081
    @Option(name: .customLong("books-port")) var booksPort = 8082
    @Option(name: .customLong("payments-port")) var paymentsPort = 8083
    @Option(name: .customLong("notifications-port")) var notificationsPort = 8084
    @Option(name: .customLong("mypages-port")) var mypagesPort = 8085
    @Option(name: .customLong("gateway-admin-port"), help: "Port of the gateway's admin listener (/metrics, health probes).") var gatewayAdminPort = 8089

    static let defaultPorts = ["auth": 8090, "gateway": 8088, "rooms": 8081, "books": 8082, "payments": 8083, "notifications": 8084, "mypages": 8085]

    func run() async throws {
        let ports = [
            "auth": authPort, "gateway": gatewayPort, "rooms": roomsPort, "books": booksPort, "payments": paymentsPort,
            "notifications": notificationsPort, "mypages": mypagesPort,
        ]
        // Nothing starts unless everything can.
        let checked = ports.merging(["gateway-admin": gatewayAdminPort]) { current, _ in current }
        for (name, port) in checked.sorted(by: { $0.value < $1.value }) where !Self.isFree(host: host, port: port) {
            throw UpError("port \(port) (\(name)) is already in use. Is another `portier up` running? Stop it, or pick another port with --\(name)-port.")
        }
        let logDirectory = dataDirectory + "/logs"
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        let routesPath = try routesFile(ports: ports)

        let common = ["--data-dir", dataDirectory]
        let specs: [Supervisor.ChildSpec] = [
            .init(
                name: "auth", port: authPort,
                arguments: ["auth", "--host", host, "--port", "\(authPort)", "--keys-dir", keysDirectory, "--issuer", issuer] + common
            ),
            .init(name: "payments", port: paymentsPort, arguments: ["serve", "payments", "--host", host, "--port", "\(paymentsPort)"] + common),
            .init(name: "rooms", port: roomsPort, arguments: ["serve", "rooms", "--host", host, "--port", "\(roomsPort)"] + common),
            .init(
                name: "books", port: booksPort,
                arguments: ["serve", "books", "--host", host, "--port", "\(booksPort)", "--payments-url", "http://\(connectHost):\(paymentsPort)"] + common
            ),
            .init(name: "notifications", port: notificationsPort, arguments: ["serve", "notifications", "--host", host, "--port", "\(notificationsPort)"] + common),
            .init(name: "mypages", port: mypagesPort, arguments: ["serve", "mypages", "--host", host, "--port", "\(mypagesPort)"] + common),
            .init(
                name: "gateway", port: gatewayPort,
                arguments: ["gateway", "--host", host, "--port", "\(gatewayPort)", "--admin-port", "\(gatewayAdminPort)", "--routes", routesPath]
            ),
        ]
        let supervisor = Supervisor(executable: Self.executablePath, logDirectory: logDirectory, specs: specs)
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)

        do {
            for child in supervisor.children {
                try supervisor.start(child)
                // The token server first (it writes the gateway's client secret), the gateway last.
                if child.spec.name == "auth" || child.spec.name == "gateway" { try await supervisor.waitReady(child, host: connectHost) }
            }
            for child in supervisor.children { try await supervisor.waitReady(child, host: connectHost) }
        } catch {
            await supervisor.stop()
            throw error
        }
        Console.write(banner(supervisor, logDirectory: logDirectory, routesPath: routesPath))

        let watcher = Task { await supervisor.supervise { Console.write("portier up: \($0)") } }
        for await _ in signals { break }
        Console.write("portier up: stopping...")
        watcher.cancel()
        await supervisor.stop()
        Console.write("portier up: stopped")
    }

    /// Where the other processes reach a process listening on `host`.
    var connectHost: String { host == "0.0.0.0" ? "127.0.0.1" : host }

    /// The token server's `iss`, which the gateway's routes must expect.
    var issuer: String { "http://\(connectHost):\(authPort)" }

    /// The route table to give the gateway: routes.json itself when the stack runs on its defaults;
    /// otherwise a copy (`<data-dir>/routes.up.json`) whose local URLs, issuer and client secret
    /// file follow this run's host, ports and data directory (editing routes.json then needs a restart).
    func routesFile(ports: [String: Int]) throws -> String {
        let defaults = ports.allSatisfy { Self.defaultPorts[$0.key] == $0.value } && connectHost == "127.0.0.1"
            && (dataDirectory as NSString).standardizingPath == ("./data" as NSString).standardizingPath
        guard !defaults else { return routes }
        guard var document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: routes))) as? [String: Any] else {
            throw UpError("\(routes) is not a JSON object")
        }
        let portsByDefault = Dictionary(uniqueKeysWithValues: ports.map { (Self.defaultPorts[$0.key]!, $0.value) })
        // Each local URL is rewritten once, from its default port to this run's (no chained replacements).
        func relocate(_ url: String) -> String {
            guard var components = URLComponents(string: url), components.host == "127.0.0.1", let port = components.port,
                let moved = portsByDefault[port]
            else { return url }
            components.host = connectHost
            components.port = moved
            return components.string ?? url
        }
        if var auth = document["auth"] as? [String: Any] {
            auth["issuer"] = issuer
            if let jwks = auth["jwks"] as? String { auth["jwks"] = relocate(jwks) }
            if var revocations = auth["revocations"] as? [String: Any] {
                if let url = revocations["url"] as? String { revocations["url"] = relocate(url) }
                revocations["clientSecretFile"] = dataDirectory + "/gateway-client.secret"
                auth["revocations"] = revocations
            }
            document["auth"] = auth
        }
        if let routes = document["routes"] as? [[String: Any]] {
            document["routes"] = routes.map { route -> [String: Any] in
                var route = route
                if let upstreams = route["upstreams"] as? [String] { route["upstreams"] = upstreams.map(relocate) }
                return route
            }
        }
        let path = dataDirectory + "/routes.up.json"
        try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    func banner(_ supervisor: Supervisor, logDirectory: String, routesPath: String) -> String {
        var lines = ["", "  Portier is up.", "", "  SERVICE         PORT   PID      STATUS"]
        for child in supervisor.children {
            lines.append(
                "  " + child.spec.name.padding(toLength: 16, withPad: " ", startingAt: 0) + String(child.spec.port).padding(toLength: 7, withPad: " ", startingAt: 0)
                    + String(child.pid).padding(toLength: 9, withPad: " ", startingAt: 0) + "ready"
            )
        }
        let secret = Self.demoSecret(inLog: supervisor.logPath("auth"))
        let base = "http://\(connectHost):\(gatewayPort)"
        let start = CalendarDate.today(now: Date().addingTimeInterval(30 * 86_400))
        let end = CalendarDate.today(now: Date().addingTimeInterval(33 * 86_400))
        lines += [
            "",
            "  Logs: \(logDirectory)/<service>.log    Routes: \(routesPath) (edit it; the gateway reloads it)",
            "",
            "  Quick start, through the gateway:",
            secret.map { "    SECRET=\($0)" } ?? "    SECRET=...   # printed on the first start; a new one: portier clients rotate-secret hotel-client",
            "    TOKEN=$(curl -s -u hotel-client:$SECRET -d grant_type=client_credentials \(base)/oauth/token | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')",
            "    curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{\"name\":\"Ocean view\",\"hostId\":1,\"price\":120}' \(base)/rooms",
            "    curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{\"roomId\":1,\"guestId\":10,\"startDate\":\"\(start)\",\"endDate\":\"\(end)\"}' \(base)/books",
            "    curl -s -H \"Authorization: Bearer $TOKEN\" '\(base)/mypages?guestId=10'",
            "    curl -s -H \"Authorization: Bearer $TOKEN\" '\(base)/notifications?recipient=guest:10'",
            "",
            "  Ctrl-C stops everything.",
            "",
        ]
        return lines.joined(separator: "\n")
    }

    /// The demo client's secret, if this start created it (the token server prints it once).
    static func demoSecret(inLog path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").last { $0.contains("client_secret:") }.flatMap { $0.split(separator: " ").last.map(String.init) }
    }

    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Whether nothing listens on the port (bind succeeds).
    static func isFree(host: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
