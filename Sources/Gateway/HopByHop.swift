import Foundation
import HTTPTypes
import NIOHTTP1

/// Which headers a proxy must not pass along (RFC 9110 7.6.1) and which the gateway owns.
enum ProxyHeaders {
    /// Connection-specific headers, never forwarded in either direction.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
        "transfer-encoding", "upgrade",
    ]

    /// Headers the gateway sets itself; whatever a client sent under these names is dropped, so
    /// an upstream can trust them.
    static let gatewayOwned: Set<String> = [
        "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "forwarded", "x-real-ip", "x-request-id",
        "x-client-id", "x-client-scopes", "x-client-authorities",
    ]

    /// Names listed in `Connection` are hop-by-hop for this message too.
    static func connectionTokens(_ fields: HTTPFields) -> Set<String> {
        var tokens = Set<String>()
        for value in fields[values: .connection] {
            for token in value.split(separator: ",") {
                tokens.insert(token.trimmingCharacters(in: .whitespaces).lowercased())
            }
        }
        return tokens
    }

    /// The request headers to send upstream, minus hop-by-hop and gateway-owned ones, minus Host
    /// (the client sets it from the upstream URL) and Content-Length (set from the body).
    /// `dropAuthorization`: a verified bearer token is not passed on (as Envoy's jwt_authn does by
    /// default); the upstream gets the verified identity in X-Client-* headers instead.
    static func upstreamHeaders(from fields: HTTPFields, dropAuthorization: Bool) -> HTTPHeaders {
        let listed = connectionTokens(fields)
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count + 6)
        for field in fields {
            let name = field.name.canonicalName
            if hopByHop.contains(name) || gatewayOwned.contains(name) || listed.contains(name) { continue }
            if name == "host" || name == "content-length" || name == "expect" { continue }
            if dropAuthorization && name == "authorization" { continue }
            headers.add(name: field.name.rawName, value: field.value)
        }
        return headers
    }

    /// The upstream's response headers to pass back. The body is relayed unchanged, so its
    /// Content-Length stays; without one the response is sent chunked.
    static func downstreamFields(from headers: HTTPHeaders) -> HTTPFields {
        var listed = Set<String>()
        for value in headers[canonicalForm: "connection"] { listed.insert(value.lowercased()) }
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count + 4)
        for (name, value) in headers {
            let lower = name.lowercased()
            if hopByHop.contains(lower) || listed.contains(lower) { continue }
            if let fieldName = HTTPField.Name(name) {
                fields.append(HTTPField(name: fieldName, value: value))
            }
        }
        return fields
    }
}
