import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// `portier`: one executable, one subcommand per process or admin task.
@main
struct Portier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portier",
        abstract: "An API gateway with a bundled OAuth2 token server, and the hotel services behind it.",
        subcommands: [UpCommand.self, AuthCommand.self, GatewayCommand.self, ServeCommand.self, KeysCommand.self, ClientsCommand.self, TokensCommand.self, EventsCommand.self, DatabaseCommand.self, OpenAPICommand.self, StatusCommand.self]
    )

    /// Everything portier creates (SQLite files and their WAL/SHM, logs, keys, secrets, directories)
    /// is private to its user: 0600 files, 0700 directories. A child of `portier up` also stops when
    /// `portier up` dies.
    static func main() async {
        umask(0o077)
        Lifeline.watchParentIfSupervised()
        await main(nil)
    }
}
