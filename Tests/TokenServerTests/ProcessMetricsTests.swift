import PortierHTTP
import PortierTestSupport
import Testing

@testable import TokenServer

/// The pieces of every process's metrics that need no socket: who must show a token, and how
/// the token server keeps its client label bounded.
@Suite struct ProcessMetricsTests {
    @Test func onlyLoopbackAddressesServeMetricsWithoutAToken() {
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"] {
            #expect(AdminSettings.isLoopback(host), "\(host)")
            #expect(!AdminSettings(host: host, port: 0).requiresToken, "\(host)")
        }
        for host in [
            "0.0.0.0", "::", "10.0.0.5", "192.168.1.1", "127.evil.example", "127.0.0.1.nip.io", "127.0.0.256", "128.0.0.1", "example.com", "",
        ] {
            #expect(!AdminSettings.isLoopback(host), "\(host)")
            #expect(AdminSettings(host: host, port: 0).requiresToken, "\(host)")
        }
        #expect(AdminSettings(host: "127.0.0.1", port: 0, requireToken: true).requiresToken, "told so explicitly")
        #expect(throws: AdminSettingsError.self, "tokens required but nothing can check them") {
            try AdminEndpoint(settings: AdminSettings(host: "0.0.0.0", port: 0), verifier: nil)
        }
        #expect(throws: AdminSettingsError.self) { try AdminEndpoint(settings: AdminSettings(port: 70_000), verifier: nil) }
    }

    @Test func tokensIssuedKeepTheirFirstClientsAndCountTheRestAsOther() async {
        let metrics = TokenServerMetrics(clientLabelLimit: 2)
        for client in ["a", "b", "c", "a", "d", "other", "b"] { metrics.tokenIssued(clientID: client, signing: .milliseconds(1)) }
        let text = PrometheusText(String(decoding: await metrics.process.render(), as: UTF8.self))
        #expect(text.value("portier_auth_tokens_issued_total", ["client_id": "a"]) == 2, "\(text)")
        #expect(text.value("portier_auth_tokens_issued_total", ["client_id": "b"]) == 2)
        #expect(text.value("portier_auth_tokens_issued_total", ["client_id": "other"]) == 3, "c, d, and a client named other")
        #expect(text.labelValues("portier_auth_tokens_issued_total", "client_id") == ["a", "b", "other"])
        #expect(text.value("portier_auth_token_signing_duration_seconds_count") == 7)
    }
}
