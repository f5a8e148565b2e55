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
    @Option(name: .customLong("gateway-port"), help: "Port of the gateway; 0 for any free port (likewise for every --*-port).") var gatewayPort = 8088
    @Option(name: .customLong("auth-port")) var authPort = 8090
    @Option(name: .customLong("rooms-port")) var roomsPort = 8081
    @Option(name: .customLong("books-port")) var booksPort = 8082
    @Option(name: .customLong("payments-port")) var paymentsPort = 8083
    @Option(name: .customLong("notifications-port")) var notificationsPort = 8084
    @Option(name: .customLong("mypages-port")) var mypagesPort = 8085
    @Option(name: .customLong("gateway-admin-port"), help: "Port of the gateway's admin listener (/metrics, health probes); 0 for any free port.")
    var gatewayAdminPort = 9088
    @Option(name: .customLong("auth-admin-port"), help: "Port of the token server's admin listener (/metrics); 0 for any free port.")
    var authAdminPort = 9090
    @Option(name: .customLong("rooms-admin-port"), help: "Port of rooms' admin listener (/metrics); likewise --books-admin-port 9082, ...")
    var roomsAdminPort = 9081
    @Option(name: .customLong("books-admin-port")) var booksAdminPort = 9082
    @Option(name: .customLong("payments-admin-port")) var paymentsAdminPort = 9083
    @Option(name: .customLong("notifications-admin-port")) var notificationsAdminPort = 9084
    @Option(name: .customLong("mypages-admin-port")) var mypagesAdminPort = 9085
    @Option(
        name: .customLong("issuer"),
        help: """
            Issuer (iss) of the tokens. Default: the token server's URL; with --auth-port 0, the gateway's URL \
            (it routes /oauth and /.well-known to the token server), or http://<host> when that port is 0 too.
            """
    )
    var issuerOption: String?
    @OptionGroup var database: DatabaseOption
    @Option(name: .customLong("stop-grace-seconds"), help: "On Ctrl-C, how long each process may take to stop before it is killed.")
    var stopGraceSeconds: Int = 15

    /// Each process's admin listener port, by process name.
    var adminPorts: [String: Int] {
        [
            "auth": authAdminPort, "gateway": gatewayAdminPort, "rooms": roomsAdminPort, "books": booksAdminPort, "payments": paymentsAdminPort,
            "notifications": notificationsAdminPort, "mypages": mypagesAdminPort,
        ]
    }

    static let defaultPorts = ["auth": 8090, "gateway": 8088, "rooms": 8081, "books": 8082, "payments": 8083, "notifications": 8084, "mypages": 8085]

    func run() async throws {
        let requested = [
            "auth": authPort, "gateway": gatewayPort, "rooms": roomsPort, "books": booksPort, "payments": paymentsPort,
            "notifications": notificationsPort, "mypages": mypagesPort,
        ]
        // Nothing starts unless everything can.
        let checked = requested.merging(adminPorts.map { ("\($0.key)-admin", $0.value) }) { current, _ in current }
        for (name, port) in checked.sorted(by: { $0.value < $1.value }) where port != 0 && !Self.isFree(host: host, port: port) {
            throw UpError("port \(port) (\(name)) is already in use. Is another `portier up` running? Stop it, or pick another port with --\(name)-port.")
        }
        // The services find the database in their environment: a password stays out of `ps`.
        if let url = try database.url(), let text = database.database {
            setenv("PORTIER_DATABASE_URL", text, 1)
            Console.write("portier up: the event log is in PostgreSQL at \(url)")
        }
        let logDirectory = dataDirectory + "/logs"
        for directory in [dataDirectory, logDirectory, keysDirectory] { try PrivateFiles.secure(directory: directory) }
        let demoSecretFile = SecretFiles.demoSecretPath(dataDirectory: dataDirectory)
        let keptSecret = SecretFiles.read(demoSecretFile)

        let supervisor = try Supervisor(executable: Self.executablePath, logDirectory: logDirectory)
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        // The first Ctrl-C (or SIGTERM) stops everything gracefully; a second one kills what is left.
        let stopRequest = Task {
            var received = 0
            for await _ in signals {
                received += 1
                if received == 1 {
                    supervisor.beginStopping()
                } else {
                    Console.write("portier up: asked again; killing what is still running")
                    supervisor.killAll()
                }
            }
        }
        defer { stopRequest.cancel() }
        let report: @Sendable (String) -> Void = { Console.write("portier up: \($0)") }

        let routesPath: String
        do {
            routesPath = try await start(supervisor, demoSecretFile: demoSecretFile)
        } catch {
            // Asked to stop while starting: whatever failed after that is a consequence, not an error.
            let interrupted = supervisor.isStopping
            Console.write(interrupted ? "portier up: stopping..." : "portier up: \(error); stopping what was started...")
            await supervisor.stop(grace: .seconds(max(1, stopGraceSeconds)), report: report)
            guard interrupted else { throw error }
            Console.write("portier up: stopped")
            return
        }
        let secret = SecretFiles.read(demoSecretFile)
        let newSecret = secret != keptSecret ? secret : nil
        Console.write(banner(supervisor, logDirectory: logDirectory, routesPath: routesPath, newSecret: newSecret, secretFile: demoSecretFile))

        await supervisor.supervise(report: report)
        Console.write("portier up: stopping...")
        await supervisor.stop(grace: .seconds(max(1, stopGraceSeconds)), report: report)
        Console.write("portier up: stopped")
    }

    /// Starts the children one after another, each learning the ports of those before it: the token
    /// server, then the services (books after payments), then the gateway. Returns the routes file.
    func start(_ supervisor: Supervisor, demoSecretFile: String) async throws -> String {
        let common = ["--host", host, "--data-dir", dataDirectory]
        let auth = try supervisor.launch(
            .init(
                name: "auth", port: authPort,
                arguments: ["auth", "--keys-dir", keysDirectory, "--issuer", issuer, "--demo-secret-file", demoSecretFile] + common,
                adminPort: authAdminPort
            )
        )
        // The token server first: it writes the gateway's client secret and creates the tables.
        try await supervisor.waitReady(auth, host: connectHost)
        // payments checks books' service tokens against this token server; books gets them from it;
        // every service checks admin tokens against it when its admin listener asks for them.
        let serviceAuth = ["--auth-url", "http://\(connectHost):\(auth.port)", "--issuer", issuer]
        var started = [auth]
        // One at a time, each ready before the next: the services share events.sqlite, and two
        // processes migrating it at once fail ("table events already exists").
        for (name, port) in [("payments", paymentsPort), ("rooms", roomsPort), ("notifications", notificationsPort), ("mypages", mypagesPort)] {
            let arguments = ["serve", name] + common + serviceAuth
            let child = try supervisor.launch(.init(name: name, port: port, arguments: arguments, adminPort: adminPorts[name]))
            try await supervisor.waitReady(child, host: connectHost)
            started.append(child)
        }
        let payments = started[1].port
        let books = try supervisor.launch(
            .init(
                name: "books", port: booksPort,
                arguments: ["serve", "books", "--payments-url", "http://\(connectHost):\(payments)"] + common + serviceAuth,
                adminPort: booksAdminPort
            )
        )
        try await supervisor.waitReady(books, host: connectHost)
        started.append(books)
        let ports = Dictionary(uniqueKeysWithValues: started.map { child in (child.name, child.port) })
        let routesPath = try routesFile(ports: ports.merging(["gateway": gatewayPort]) { current, _ in current })
        let gateway = try supervisor.launch(
            .init(
                name: "gateway", port: gatewayPort,
                arguments: ["gateway", "--host", host, "--routes", routesPath], adminPort: gatewayAdminPort
            )
        )
        try await supervisor.waitReady(gateway, host: connectHost)
        return routesPath
    }

    /// Where the other processes reach a process listening on `host`.
    var connectHost: String { host == "0.0.0.0" ? "127.0.0.1" : host }

    /// The token server's `iss`, which the gateway's routes must expect. It must be known before
    /// the token server starts, so with --auth-port 0 it cannot be the token server's own URL.
    var issuer: String {
        if let issuerOption { return issuerOption }
        if authPort != 0 { return "http://\(connectHost):\(authPort)" }
        if gatewayPort != 0 { return "http://\(connectHost):\(gatewayPort)" }
        return "http://\(connectHost)"
    }

    /// The route table to give the gateway: routes.json itself when the stack runs on its defaults;
    /// otherwise a copy (`<data-dir>/routes.up.json`) whose local URLs, issuer and client secret
    /// file follow this run's host, ports and data directory (editing routes.json then needs a restart).
    func routesFile(ports: [String: Int]) throws -> String {
        let defaults = ports.allSatisfy { Self.defaultPorts[$0.key] == $0.value } && connectHost == "127.0.0.1"
            && (dataDirectory as NSString).standardizingPath == ("./data" as NSString).standardizingPath
        guard !defaults else { return routes }
        let content: Data
        do {
            content = try Data(contentsOf: URL(fileURLWithPath: routes))
        } catch {
            throw UpError("cannot read the route table \(routes) (run from the repository, or pass --routes): \(error.localizedDescription)")
        }
        guard var document = try? JSONSerialization.jsonObject(with: content) as? [String: Any] else {
            throw UpError("\(routes) is not a JSON object")
        }
        // Ports still 0 (the gateway's, not known yet) are not relocated to.
        let portsByDefault = Dictionary(
            ports.compactMap { name, port in Self.defaultPorts[name].flatMap { port == 0 ? nil : ($0, port) } },
            uniquingKeysWith: { first, _ in first }
        )
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

    /// What a user needs once everything is ready. `newSecret` is the demo client's secret when this
    /// start created it (shown this once); otherwise the banner says where the secret is kept.
    func banner(_ supervisor: Supervisor, logDirectory: String, routesPath: String, newSecret: String?, secretFile: String) -> String {
        var lines = ["", "  Portier is up.", "", "  SERVICE         PORT   ADMIN  PID      STATUS"]
        for child in supervisor.children {
            lines.append(
                "  " + child.name.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + String(child.port).padding(toLength: 7, withPad: " ", startingAt: 0)
                    + (child.adminPort.map(String.init) ?? "-").padding(toLength: 7, withPad: " ", startingAt: 0)
                    + String(child.pid).padding(toLength: 9, withPad: " ", startingAt: 0) + "ready"
            )
        }
        let gatewayPort = supervisor.children.last { $0.name == "gateway" }?.port ?? gatewayPort
        let base = "http://\(connectHost):\(gatewayPort)"
        let rotate = "portier clients rotate-secret \(SecretFiles.demoClientID)" + (dataDirectory == "./data" ? "" : " --data-dir \(dataDirectory)")
        let secretLines: [String]
        if let newSecret {
            secretLines = ["    SECRET=\(newSecret)", "    # the demo client's secret, shown only this once; also kept in \(secretFile) (mode 0600)"]
        } else if FileManager.default.fileExists(atPath: secretFile) {
            secretLines = [
                "    SECRET=$(cat \(secretFile))", "    # the demo client's secret is kept in \(secretFile) (mode 0600); a new one: \(rotate)",
            ]
        } else {
            secretLines = ["    SECRET=...   # the demo client's secret is not kept on this machine; a new one: \(rotate)"]
        }
        let start = CalendarDate.today(now: Date().addingTimeInterval(30 * 86_400))
        let end = CalendarDate.today(now: Date().addingTimeInterval(33 * 86_400))
        lines += [
            "",
            "  Logs: \(logDirectory)/<service>.log    Routes: \(routesPath) (edit it; the gateway reloads it)",
            "  Metrics: curl -s http://\(connectHost):<ADMIN>/metrics (each process's admin listener, loopback only)",
            "",
            "  Quick start, through the gateway:",
        ] + secretLines + [
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

    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Whether nothing listens on the port (bind succeeds).
    static func isFree(host: String, port: Int) -> Bool {
        guard let port = UInt16(exactly: port) else { return false }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port.bigEndian)
        address.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
