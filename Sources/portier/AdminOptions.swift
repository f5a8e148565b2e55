import ArgumentParser
import PortierHTTP

/// The admin listener's flags, shared by `portier auth` and `portier serve` (the gateway has its
/// own): where /metrics and the health probes listen, and whether they need a token.
struct AdminOptions: ParsableArguments {
    @Option(
        name: .customLong("admin-host"),
        help: "Address of the admin listener (/metrics, health probes); default 127.0.0.1 (env PORTIER_<PROCESS>_ADMIN_HOST).")
    var host: String?

    @Option(
        name: .customLong("admin-port"),
        help:
            "Port of the admin listener; 0 picks a free one. Default: the public port + 1000, or 0 with --port 0 (env PORTIER_<PROCESS>_ADMIN_PORT)."
    )
    var port: Int?

    @Flag(
        name: .customLong("admin-require-token"),
        help: """
            Require a bearer token with scope admin for /metrics even on loopback (always required beyond loopback) \
            (env PORTIER_ADMIN_REQUIRE_TOKEN=1).
            """
    )
    var requireToken = false

    /// The listener of `process` (`AUTH`, `ROOMS`, ... in the environment's names) whose public port is `publicPort`.
    func settings(process: String, publicPort: Int) throws -> AdminSettings {
        let prefix = "PORTIER_\(process.uppercased())_ADMIN"
        let host = self.host ?? Env.string("\(prefix)_HOST", "127.0.0.1")
        let fallback = (1...64535).contains(publicPort) ? AdminSettings.defaultPort(forPublicPort: publicPort) : 0
        var port = fallback
        if let given = self.port {
            port = given
        } else if let text = Env.optional("\(prefix)_PORT") {
            guard let number = Int(text) else { throw ValidationError("\(prefix)_PORT must be a port number, got '\(text.prefix(40))'") }
            port = number
        }
        guard (0...65535).contains(port) else { throw ValidationError("--admin-port must be between 0 and 65535, got \(port)") }
        let fromEnvironment = Env.optional("PORTIER_ADMIN_REQUIRE_TOKEN").map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false
        return AdminSettings(host: host, port: port, requireToken: requireToken || fromEnvironment ? true : nil)
    }
}
