import TokenServer

enum ClientStoreForTests {
    /// The clients of the running server's database, opened as `portier clients` opens them.
    static func open(_ auth: AuthFixture) throws -> ClientStore {
        auth.clientStore
    }
}
