import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// A `postgres://user:password@host:port/database?sslmode=...` URL (the form libpq, Kong and most
/// tools take), turned into a client configuration. `sslmode` is `disable`, `prefer` (the default,
/// as with libpq) or `require`; `verify-full` is accepted as `require`, which verifies the server's
/// certificate and name against the system's trust roots.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String?
    public var sslMode: String

    public init(_ text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw PostgresURLError("not a postgres:// URL")
        }
        guard let host = components.host, !host.isEmpty else { throw PostgresURLError("the URL has no host") }
        guard let user = components.user, !user.isEmpty else { throw PostgresURLError("the URL has no user name") }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw PostgresURLError("port \(port) is out of range") }
        self.host = host
        self.port = port
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? nil : path
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        guard ["disable", "prefer", "require", "verify-full"].contains(mode) else {
            throw PostgresURLError("sslmode must be disable, prefer, require or verify-full, got \(mode)")
        }
        self.sslMode = mode
    }

    /// The URL without its password, for logs and status output.
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database ?? "")" + (sslMode == "prefer" ? "" : "?sslmode=\(sslMode)")
    }

    public var clientConfiguration: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        default: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}

/// Why a database URL was refused, in one line.
public struct PostgresURLError: Error, CustomStringConvertible {
    public let description: String
    init(_ reason: String) { description = "invalid database URL: \(reason)" }
}

/// A failure of a PostgreSQL operation with the server's own words: PostgresNIO's errors print a
/// deliberately vague description (they may carry query data), which says nothing in a log line.
public struct PostgresFailure: Error, CustomStringConvertible {
    public let description: String
    /// The SQLSTATE, when the server answered with an error.
    public let sqlState: String?

    public init(_ operation: String, _ error: any Error) {
        let (text, state) = Self.explain(error)
        description = "\(operation): \(text)"
        sqlState = state
    }

    static func explain(_ error: any Error) -> (String, String?) {
        if let transaction = error as? PostgresTransactionError {
            if let inner = transaction.closureError ?? transaction.beginError ?? transaction.commitError {
                return explain(inner)
            }
        }
        if let failure = error as? PostgresFailure { return (failure.description, failure.sqlState) }
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] {
                let state = psql.serverInfo?[.sqlState]
                return ("\(message) (SQLSTATE \(state ?? "?"))", state)
            }
            return ("\(psql.code)" + (psql.underlying.map { ": \($0)" } ?? ""), nil)
        }
        return ("\(error)", nil)
    }
}
