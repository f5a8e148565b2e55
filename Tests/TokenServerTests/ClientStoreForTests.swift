import TokenServer

enum ClientStoreForTests {
    /// The same SQLite file the running server uses, opened as `portier clients` opens it.
    static func open(_ auth: AuthFixture) throws -> ClientStore {
        ClientStore(database: try AuthDatabase(dataDirectory: auth.configuration.dataDirectory))
    }
}
