import Foundation

/// Flags fall back to environment variables (`PORTIER_*`), the way containers are configured.
enum Env {
    static func string(_ name: String, _ fallback: String) -> String {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
    }

    /// The variable's whole number, or `fallback` when it is unset or empty. Anything else is a
    /// mistake to say, not to paper over with the default (a port, a limit): the process stops with
    /// the usage exit status, 64.
    static func int(_ name: String, _ fallback: Int) -> Int {
        guard let text = optional(name) else { return fallback }
        guard let value = Int(text) else {
            FileHandle.standardError.write(Data("portier: \(name) must be a whole number, got '\(text.prefix(40))'\n".utf8))
            exit(64)
        }
        return value
    }

    static func optional(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Unbuffered standard output, for messages a server prints before its logs start flowing.
enum Console {
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
