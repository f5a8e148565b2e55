// Temporary: routes.json keys this slice adds once GatewayConfiguration.swift may be edited again.
extension GatewayConfiguration.RevocationSettings {
    var failClosed: Bool { false }
    var leewaySeconds: Int { 60 }
}

extension GatewayConfiguration.AuthSettings {
    var jwksRefreshInterval: Duration { .seconds(300) }
}
