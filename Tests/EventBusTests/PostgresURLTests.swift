import Testing
@testable import EventBus

/// `--database` URLs as people write them for libpq, Kong or Keycloak.
@Suite struct PostgresURLTests {
    @Test func aFullURLIsReadAndItsPasswordDecodedOnce() throws {
        let url = try PostgresURL("postgres://app%40eu:p%2541ss%3Aw@db.internal:6543/hotel?sslmode=require")
        #expect(url.username == "app@eu")
        #expect(url.password == "p%41ss:w", "%25 is a literal %, not the start of another escape")
        #expect(url.host == "db.internal" && url.port == 6543 && url.database == "hotel" && url.sslMode == "require")
        #expect(url.description == "postgres://app@eu@db.internal:6543/hotel?sslmode=require", "no password in logs")
    }

    @Test func defaultsAndAnIPv6Host() throws {
        let url = try PostgresURL("postgresql://portier@[::1]")
        #expect(url.host == "::1" && url.port == 5432 && url.database == nil && url.password == nil && url.sslMode == "prefer")
    }

    @Test(arguments: [
        ("mysql://root@127.0.0.1/x", "not a postgres:// URL"),
        ("postgres://127.0.0.1/x", "no user name"),
        ("postgres://u@:5432/x", "no host"),
        ("postgres://u@h:0/x", "port 0 is out of range"),
        ("postgres://u@h/x?sslmode=always", "sslmode must be"),
        ("not a url at all", "not a postgres:// URL"),
    ])
    func malformedURLsAreRefusedWithAReason(text: String, reason: String) {
        #expect {
            _ = try PostgresURL(text)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}
