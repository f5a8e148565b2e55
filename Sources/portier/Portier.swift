import ArgumentParser

/// `portier`: one executable, one subcommand per process or admin task.
@main
struct Portier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portier",
        abstract: "An API gateway with a bundled OAuth2 token server, and the hotel services behind it.",
        subcommands: [UpCommand.self, AuthCommand.self, GatewayCommand.self, ServeCommand.self, KeysCommand.self, ClientsCommand.self]
    )
}
