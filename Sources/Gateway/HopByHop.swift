import GatewayHeaders
import NIOHTTP1

/// The gateway's side of ``HeaderRules``: the same rules, written into NIO's header lists.
enum ProxyHeaders {
    /// The request headers to send upstream (see ``HeaderRules/forEachUpstreamHeader(in:dropAuthorization:_:)``),
    /// framed as the client sent the body, with room for the ones the gateway adds.
    static func upstreamHeaders(from headers: HTTPHeaders, dropAuthorization: Bool) -> HTTPHeaders {
        var result = HTTPHeaders()
        result.reserveCapacity(headers.count + 8)
        HeaderRules.forEachUpstreamHeader(in: headers, dropAuthorization: dropAuthorization) { name, value in
            result.add(name: name, value: value)
        }
        if let length = headers.first(name: "content-length") {
            result.add(name: "Content-Length", value: length)
        } else if headers.contains(name: "transfer-encoding") {
            result.add(name: "Transfer-Encoding", value: "chunked")
        }
        return result
    }

    /// The upstream's response headers to pass back (see ``HeaderRules/forEachDownstreamHeader(in:_:)``),
    /// without its request id: the gateway sets its own.
    static func downstreamHeaders(from headers: HTTPHeaders) -> HTTPHeaders {
        var result = HTTPHeaders()
        result.reserveCapacity(headers.count + 5)
        HeaderRules.forEachDownstreamHeader(in: headers) { name, value in
            if !HeaderRules.equalsIgnoringCase(name, "x-request-id") { result.add(name: name, value: value) }
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
