import GatewayHeaders
import NIOHTTP1

/// The gateway's side of ``HeaderRules``: the same rules, applied to NIO's header lists without
/// building a lowercased copy of every name.
enum ProxyHeaders {
    /// The request headers to send upstream (see ``HeaderRules/isDroppedUpstream(_:dropAuthorization:)``),
    /// with room for the ones the gateway adds.
    static func upstreamHeaders(from headers: HTTPHeaders, dropAuthorization: Bool) -> HTTPHeaders {
        var result = HTTPHeaders()
        result.reserveCapacity(headers.count + 8)
        var listed: Set<String>?
        for (name, value) in headers where HeaderRules.isConnection(name) {
            var tokens = listed ?? []
            HeaderRules.connectionTokens(value, into: &tokens)
            listed = tokens
        }
        for (name, value) in headers {
            if HeaderRules.isDroppedUpstream(name, dropAuthorization: dropAuthorization) { continue }
            if let listed, listed.contains(name.lowercased()) { continue }
            result.add(name: name, value: value)
        }
        // Framing: the body goes as the client sent it.
        if let length = headers.first(name: "content-length") {
            result.add(name: "Content-Length", value: length)
        } else if headers.contains(name: "transfer-encoding") {
            result.add(name: "Transfer-Encoding", value: "chunked")
        }
        return result
    }

    /// The upstream's response headers to pass back: all but hop-by-hop ones, those listed in
    /// `Connection`, and the request id (the gateway sets its own).
    static func downstreamHeaders(from headers: HTTPHeaders) -> HTTPHeaders {
        var result = HTTPHeaders()
        result.reserveCapacity(headers.count + 5)
        var listed: Set<String>?
        for (name, value) in headers where HeaderRules.isConnection(name) {
            var tokens = listed ?? []
            HeaderRules.connectionTokens(value, into: &tokens)
            listed = tokens
        }
        for (name, value) in headers {
            if HeaderRules.isHopByHop(name) || HeaderRules.equalsIgnoringCase(name, "x-request-id") { continue }
            if let listed, listed.contains(name.lowercased()) { continue }
            result.add(name: name, value: value)
        }
        return result
    }

    /// Adds a header whose value came from a token's claims, unless it holds control characters
    /// (which could split the header on the wire).
    static func addIfSafe(_ headers: inout HTTPHeaders, _ name: String, _ value: String) {
        guard value.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else { return }
        headers.add(name: name, value: value)
    }
}
