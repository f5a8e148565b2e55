import GatewayHeaders
import NIOHTTP1

/// The gateway's side of ``HeaderRules``: the same rules, over NIO's decoded header lists.
enum ProxyHeaders {
    /// Calls `body` with each of the upstream's response headers to pass back (see
    /// ``HeaderRules/forEachDownstreamHeader(in:_:)``), without its request id: the gateway sets its own.
    static func forEachDownstreamHeader(in headers: HTTPHeaders, _ body: (_ name: String, _ value: String) -> Void) {
        HeaderRules.forEachDownstreamHeader(in: headers) { name, value in
            if !HeaderRules.equalsIgnoringCase(name, "x-request-id") { body(name, value) }
        }
    }

    /// Whether a value that came from a token's claims can go in a header: no control characters,
    /// which could split the header on the wire.
    static func isSafe(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F }
    }
}
