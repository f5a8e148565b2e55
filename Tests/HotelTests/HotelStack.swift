import Foundation
import PortierTestSupport
import Synchronization
import Testing

/// The whole hotel as real child processes on loopback ports: token server, gateway and the five
/// services, each a `portier` process with the shared data directory, as `portier up` runs them.
final class HotelStack: @unchecked Sendable {
    enum Service: String, CaseIterable, Sendable {
        case rooms, books, payments, notifications, mypages
    }

    /// Where the services keep their stores and the event log: SQLite files, or PostgreSQL.
    enum LogEngine: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }

    let directory: TemporaryDirectory
    /// The event log's PostgreSQL database (a new one per stack), nil for the SQLite file.
    let databaseURL: String?
    private(set) var processes: [String: ChildProcess] = [:]
    private(set) var ports: [String: Int] = [:]
    /// Each process's admin listener (/metrics), all on port 0.
    private(set) var adminPorts: [String: Int] = [:]
    private(set) var gateway = ""
    private(set) var demoSecret = ""
    private var token = ""
    private let lock = NSLock()
    /// Variables every process of the stack gets (e.g. the OTLP endpoint, LOG_LEVEL).
    let environment: [String: String]

    private init(directory: TemporaryDirectory, databaseURL: String?, environment: [String: String]) {
        self.directory = directory
        self.databaseURL = databaseURL
        var environment = environment
        if let databaseURL { environment["PORTIER_DATABASE_URL"] = databaseURL }
        self.environment = environment
    }

    var dataDirectory: String { directory.sub("data") }
    var keysDirectory: String { directory.sub("keys") }

    /// The `iss` of the stack's tokens.
    static let issuer = "http://auth.test"

    /// The token server, directly (not through the gateway).
    var authURL: String { "http://127.0.0.1:\(ports["auth"] ?? 0)" }

    static func run<T: Sendable>(
        eventLog engine: LogEngine = .sqlite, environment: [String: String] = [:], _ body: @Sendable (HotelStack) async throws -> T
    ) async throws -> T {
        try await run(databaseURL: engine == .postgres ? try await PostgresServer.database("hotel") : nil, environment: environment, body)
    }

    static func run<T: Sendable>(
        databaseURL: String?, environment: [String: String] = [:], _ body: @Sendable (HotelStack) async throws -> T
    ) async throws -> T {
        try await TemporaryDirectory.with("hotel") { dir in
            let stack = HotelStack(directory: dir, databaseURL: databaseURL, environment: environment)
            defer { stack.killAll() }
            try await stack.startAll()
            return try await body(stack)
        }
    }

    private func startAll() async throws {
        let auth = try ChildProcess([
            "auth", "--port", "0", "--admin-port", "0", "--data-dir", dataDirectory, "--keys-dir", keysDirectory, "--issuer", Self.issuer,
        ], environment: environment)
        register("auth", auth, port: try await auth.port(fromLineContaining: "token server listening"))
        registerAdmin("auth", port: try await auth.port(fromLineContaining: "admin listener ready"))
        let secretLine = try await auth.waitForLine(containing: "client_secret:")
        demoSecret = String(secretLine.split(separator: " ").last!)

        for service in [Service.payments, .rooms, .notifications, .mypages, .books] {
            try await start(service)
        }
        let routesPath = directory.sub("routes.json")
        try writeRoutes(to: routesPath)
        let gatewayProcess = try ChildProcess(["gateway", "--port", "0", "--admin-port", "0", "--routes", routesPath], environment: environment)
        let port = try await gatewayProcess.port(fromLineContaining: "gateway listening")
        register("gateway", gatewayProcess, port: port)
        registerAdmin("gateway", port: try await gatewayProcess.port(fromLineContaining: "admin listener ready"))
        gateway = "http://127.0.0.1:\(port)"
        token = try await fetchToken()
    }

    private func registerAdmin(_ name: String, port: Int) {
        lock.lock()
        adminPorts[name] = port
        lock.unlock()
    }

    /// What `name`'s admin listener answers at /metrics now.
    func metrics(_ name: String) async throws -> PrometheusText {
        let response = try await HTTP.request(.GET, "http://127.0.0.1:\(adminPorts[name] ?? 0)/metrics")
        guard response.status == 200 else { throw ChildProcessError("\(name) /metrics answered \(response.status): \(response.text)") }
        return PrometheusText(response.text)
    }

    private func register(_ name: String, _ process: ChildProcess, port: Int) {
        lock.lock()
        processes[name] = process
        ports[name] = port
        lock.unlock()
    }

    /// Starts a service (again), on its previous port if it had one.
    func start(_ service: Service, port: Int? = nil, as name: String? = nil, extraArguments: [String] = []) async throws {
        let name = name ?? service.rawValue
        var arguments = ["serve", service.rawValue, "--port", String(port ?? ports[name] ?? 0), "--data-dir", dataDirectory] + extraArguments
        // Not the default (its port + 1000), which another test's listener may hold.
        if !extraArguments.contains("--admin-port") { arguments += ["--admin-port", "0"] }
        if service == .books { arguments += ["--payments-url", "http://127.0.0.1:\(ports["payments"]!)"] }
        // books gets its service token from the token server, payments checks it against its JWKS.
        if service == .books || service == .payments { arguments += ["--auth-url", authURL, "--issuer", Self.issuer] }
        let process = try ChildProcess(arguments, environment: environment)
        let bound = try await process.port(fromLineContaining: "\(service.rawValue) listening")
        register(name, process, port: bound)
        registerAdmin(name, port: try await process.port(fromLineContaining: "admin listener ready"))
    }

    /// SIGTERM (graceful) or SIGKILL, then waits until the process is gone.
    func stop(_ name: String, signal: Int32 = SIGTERM) async throws {
        guard let process = processes[name] else { return }
        process.signal(signal)
        _ = try await process.waitForExit()
    }

    func killAll() {
        for process in processes.values where process.process.isRunning {
            process.signal(SIGKILL)
        }
    }

    private func writeRoutes(to path: String) throws {
        let scopes = ["GET": ["read"], "POST": ["write"], "PUT": ["write"], "DELETE": ["write"]]
        var routes: [[String: Any]] = [
            ["id": "oauth", "path": "/oauth", "upstreams": ["http://127.0.0.1:\(ports["auth"]!)"], "public": true]
        ]
        for service in Service.allCases {
            var route: [String: Any] = [
                "id": service.rawValue, "path": "/\(service.rawValue)", "upstreams": ["http://127.0.0.1:\(ports[service.rawValue]!)"],
                // Generous: a stack's first booking fetches service tokens and keys on a machine
                // that may be running several stacks at once.
                "scopes": scopes, "timeoutMillis": 30000,
            ]
            // As in the shipped routes.json: payments is read-only from outside.
            if service == .payments {
                route["methods"] = ["GET", "HEAD"]
                route["scopes"] = ["GET": ["read"], "HEAD": ["read"]]
            }
            routes.append(route)
        }
        let document: [String: Any] = [
            "auth": [
                "issuer": Self.issuer, "audience": "hotel-api", "jwks": "http://127.0.0.1:\(ports["auth"]!)/.well-known/jwks.json",
            ],
            "routes": routes,
        ]
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: path))
    }

    private func fetchToken() async throws -> String {
        let response = try await HTTP.form(gateway + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", demoSecret)])
        guard let token = response.json["access_token"] as? String else { throw ChildProcessError("no token: \(response.text)") }
        return token
    }

    // MARK: Calls through the gateway, with the token

    func get(_ path: String) async throws -> TestHTTPResponse {
        try await HTTP.request(.GET, gateway + path, headers: [HTTP.bearer(token)])
    }

    func post(_ path: String, _ body: [String: Any], headers: [(String, String)] = []) async throws -> TestHTTPResponse {
        try await HTTP.json(.POST, gateway + path, body, headers: [HTTP.bearer(token)] + headers)
    }

    func delete(_ path: String) async throws -> TestHTTPResponse {
        try await HTTP.request(.DELETE, gateway + path, headers: [HTTP.bearer(token)])
    }

    /// Registers a room and waits until books has learned about it (the replica is fed by events).
    func registerRoom(name: String = "Ocean view", hostID: Int = 1, price: Int = 120) async throws -> Int {
        let response = try await post("/rooms", ["name": name, "hostId": hostID, "price": price])
        guard response.status == 201, let id = response.json["id"] as? Int else { throw ChildProcessError("room: \(response.text)") }
        return id
    }

    /// Books, retrying while the books service has not yet seen the room's RoomRegistered event.
    func book(room: Int, guest: Int, nightsFromNow start: Int, nights: Int = 2, headers: [(String, String)] = []) async throws -> TestHTTPResponse {
        let body: [String: Any] = ["roomId": room, "guestId": guest, "startDate": Self.date(daysFromNow: start), "endDate": Self.date(daysFromNow: start + nights)]
        var response = try await post("/books", body, headers: headers)
        let deadline = ContinuousClock.now + .seconds(30)
        while response.status == 404 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            response = try await post("/books", body, headers: headers)
        }
        return response
    }

    static func date(daysFromNow days: Int) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date().addingTimeInterval(Double(days) * 86_400))
    }

    func notifications(_ recipient: String) async throws -> [[String: Any]] {
        let response = try await get("/notifications?recipient=\(recipient)&size=100")
        return response.json["items"] as? [[String: Any]] ?? []
    }
}
