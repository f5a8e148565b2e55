import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// A `postgres://user:password@host:port/database?sslmode=...` URL (the form libpq, Kong and most
/// tools take), turned into a client configuration. `sslmode` means what it means to libpq:
/// `disable`; `prefer` (the default: TLS when the server offers it); `require` (TLS, certificate not
/// checked); `verify-ca` (certificate checked against the system's roots); `verify-full` (and the
/// host name too).
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
        // An IPv6 literal keeps its brackets in some Foundation versions: `[::1]` connects as `::1`.
        guard var host = components.host, !host.isEmpty else { throw PostgresURLError("the URL has no host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        // Decoded exactly once: a password may contain "%" (written %25).
        guard let user = components.percentEncodedUser.map({ $0.removingPercentEncoding ?? $0 }), !user.isEmpty else {
            throw PostgresURLError("the URL has no user name")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw PostgresURLError("port \(port) is out of range") }
        self.host = host
        self.port = port
        self.username = user
        self.password = components.percentEncodedPassword.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? nil : path
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        guard ["disable", "prefer", "require", "verify-ca", "verify-full"].contains(mode) else {
            throw PostgresURLError("sslmode must be disable, prefer, require, verify-ca or verify-full, got \(mode)")
        }
        self.sslMode = mode
    }

    /// The URL without its password, for logs and status output.
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database ?? "")" + (sslMode == "prefer" ? "" : "?sslmode=\(sslMode)")
    }

    public var clientConfiguration: PostgresClient.Configuration {
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        var caOnly = TLSConfiguration.makeClientConfiguration()
        caOnly.certificateVerification = .noHostnameVerification
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(unverified)
        case "require": tls = .require(unverified)
        case "verify-ca": tls = .require(caOnly)
        default: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        // Five services and their replicas share the server's max_connections (100 by default).
        configuration.options.maximumConnections = 8
        // The server gives up too, so an operation abandoned at its 30 s deadline cannot keep a
        // transaction, and the append lock with it, open for good.
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", "30s"), ("lock_timeout", "30s"), ("idle_in_transaction_session_timeout", "30s"),
        ]
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

    /// A row that does not decode is this code's or the data's fault, not an outage.
    private let isDecoding: Bool

    public init(_ operation: String, _ error: any Error) {
        let (text, state) = Self.explain(error)
        description = "\(operation): \(text)"
        sqlState = state
        isDecoding = Self.isDecoding(error)
    }

    static func isDecoding(_ error: any Error) -> Bool {
        if let failure = error as? PostgresFailure { return failure.isDecoding }
        if let transaction = error as? PostgresTransactionError, let inner = transaction.closureError { return isDecoding(inner) }
        return error is PostgresDecodingError || error is MissingColumn
    }

    /// Whether trying again later may succeed: no answer from the server (the connection, a
    /// deadline), or a refusal of the connection, resources, a deadlock or serialisation conflict,
    /// a shutdown. A constraint or syntax error is not.
    public var isTransient: Bool {
        if isDecoding { return false }
        guard let sqlState else { return true }
        return Self.isTransient(sqlState: sqlState)
    }

    static func isTransient(sqlState state: String) -> Bool {
        ["08", "40", "53", "57", "58"].contains(String(state.prefix(2)))
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
