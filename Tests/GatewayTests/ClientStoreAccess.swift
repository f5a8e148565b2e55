import TokenServer

enum ClientStoreAccess {
    /// The test token server's client database, as `portier clients` opens it.
    static func open(_ gw: GatewayHarness) throws -> ClientStore {
        ClientStore(database: try AuthDatabase(dataDirectory: gw.authConfiguration.dataDirectory))
    }
}
