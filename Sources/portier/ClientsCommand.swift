import ArgumentParser
import Foundation
import EventBus
import Logging
import TokenServer

/// `portier clients`: manage OAuth clients in the token server's SQLite file or PostgreSQL database.
struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients",
        abstract: "Manage OAuth clients (changes apply to a running token server at once).",
        subcommands: [Add.self, List.self, Remove.self, RotateSecret.self]
    )

    struct Location: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "Directory of the SQLite files (env PORTIER_DATA_DIR).")
        var dataDirectory: String = Env.string("PORTIER_DATA_DIR", "./data")

        @OptionGroup var database: DatabaseOption

        /// Runs `body` with the token server's client store (and, for PostgreSQL, its connection pool running).
        func withStore<T: Sendable>(_ body: @Sendable (ClientStore) async throws -> T) async throws -> T {
            guard let url = try database.url() else { return try await body(ClientStore(database: try AuthDatabase(dataDirectory: dataDirectory))) }
            return try await PostgresEventLog.with(url: url, logger: Logger(label: "portier-clients"), listens: false) { pool in
                try await body(ClientStore(database: PostgresAuthDatabase(pool: pool)))
            }
        }
    }

    static func list(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a client and print its secret once.")
        @OptionGroup var location: Location
        @Argument(help: "Client id (letters, digits, '.', '_', '-').") var id: String
        @Option(help: "Allowed scopes, comma-separated, e.g. read,write.") var scopes: String
        @Option(help: "Roles for the token's authorities claim, comma-separated.") var authorities: String = ""
        @Option(help: "Access-token lifetime in seconds.") var ttl: Int = 3600
        @Option(help: "Use this secret instead of generating one (at least 16 characters).") var secret: String?

        func run() async throws {
            let (id, scopes, authorities, ttl, secret) = (id, ClientsCommand.list(scopes), ClientsCommand.list(authorities), ttl, self.secret)
            let (client, clear) = try await location.withStore { store in
                let (client, clear) = try await store.add(id: id, scopes: scopes, authorities: authorities, tokenTTL: ttl, secret: secret)
                return (client, clear)
            }
            print("client_id:     \(client.id)")
            print("client_secret: \(clear)")
            print("scopes:        \(client.scopes.joined(separator: " "))")
            if !client.authorities.isEmpty { print("authorities:   \(client.authorities.joined(separator: " "))") }
            print("token ttl:     \(client.tokenTTL)s")
            print("The secret is stored only as a hash: copy it now.")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List clients (never their secrets).")
        @OptionGroup var location: Location

        func run() async throws {
            let clients = try await location.withStore { try await $0.list() }
            guard !clients.isEmpty else {
                print("no clients")
                return
            }
            print("ID".padding(toLength: 24, withPad: " ", startingAt: 0) + "SCOPES              AUTHORITIES         TTL    CREATED")
            for client in clients {
                let columns = [
                    client.id.padding(toLength: 24, withPad: " ", startingAt: 0),
                    client.scopes.joined(separator: " ").padding(toLength: 20, withPad: " ", startingAt: 0),
                    client.authorities.joined(separator: " ").padding(toLength: 20, withPad: " ", startingAt: 0),
                    String(client.tokenTTL).padding(toLength: 7, withPad: " ", startingAt: 0),
                    client.createdAt.formatted(.iso8601),
                ]
                print(columns.joined())
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a client: no new tokens, and its live tokens are refused by introspection at once and by gateways within seconds."
        )
        @OptionGroup var location: Location
        @Argument var id: String

        func run() async throws {
            let id = self.id
            try await location.withStore { try await $0.remove(id: id) }
            print("removed \(id)")
        }
    }

    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret",
            abstract: "Replace a client's secret and print the new one once; tokens issued with the old secret stop working too."
        )
        @OptionGroup var location: Location
        @Argument var id: String
        @Option(help: "Use this secret instead of generating one.") var secret: String?

        func run() async throws {
            let (id, wanted) = (self.id, self.secret)
            let secret = try await location.withStore { try await $0.rotateSecret(id: id, secret: wanted) }
            print("client_id:     \(id)")
            print("client_secret: \(secret)")
            // A kept copy (e.g. data/demo-client.secret, which `portier up` points to) must not go stale.
            if let file = try SecretFiles.refresh(clientID: id, secret: secret, dataDirectory: location.dataDirectory) {
                print("updated:       \(file)")
            }
        }
    }
}
