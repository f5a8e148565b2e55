import ArgumentParser
import Foundation
import Tokens

/// `portier keys`: manage the token server's signing keys.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage signing keys (a running token server picks changes up within a second).",
        subcommands: [Rotate.self, List.self, Prune.self]
    )

    struct Location: ParsableArguments {
        @Option(name: .customLong("keys-dir"), help: "Directory of the signing keys (env PORTIER_KEYS_DIR).")
        var keysDirectory: String = Env.string("PORTIER_KEYS_DIR", "./keys")
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new RSA 2048 key that signs from now on; older keys keep verifying."
        )
        @OptionGroup var location: Location

        func run() async throws {
            let key = try KeyStore(directory: location.keysDirectory).rotate()
            print("new signing key \(key.kid) (\(key.path))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every key: kid, creation time and which one signs.")
        @OptionGroup var location: Location

        func run() async throws {
            let ring = try KeyStore(directory: location.keysDirectory).load()
            guard !ring.keys.isEmpty else {
                print("no keys in \(location.keysDirectory); the token server creates one on first start")
                return
            }
            let width = ring.keys.map(\.kid.count).max() ?? 3
            print("KID".padding(toLength: width, withPad: " ", startingAt: 0) + "  CREATED                   STATUS")
            for key in ring.keys.reversed() {
                let status = key.kid == ring.signing?.kid ? "signing" : "verify-only"
                print("\(key.kid.padding(toLength: width, withPad: " ", startingAt: 0))  \(key.created.formatted(.iso8601))      \(status)")
            }
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete keys that stopped signing long enough ago that no token they signed is still valid."
        )
        @OptionGroup var location: Location

        @Option(help: "Keep keys retired less than this many seconds ago (default: one day, the longest token lifetime).")
        var grace: Int = 86_400

        func run() async throws {
            let removed = try KeyStore(directory: location.keysDirectory).prune(retiredBefore: Date().addingTimeInterval(-Double(grace)))
            if removed.isEmpty {
                print("nothing to prune")
            }
            for key in removed {
                print("removed \(key.kid)")
            }
        }
    }
}
