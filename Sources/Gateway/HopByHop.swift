import GatewayHeaders
import HTTPTypes
import NIOHTTP1

/// The gateway's side of ``HeaderRules``: the same rules, written into NIO's header types.
enum ProxyHeaders {
    /// The request headers to send upstream (see ``HeaderRules/forEachUpstreamField(in:dropAuthorization:_:)``).
    static func upstreamHeaders(from fields: HTTPFields, dropAuthorization: Bool) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count + 6)
        HeaderRules.forEachUpstreamField(in: fields, dropAuthorization: dropAuthorization) { field in
            headers.add(name: field.name.rawName, value: field.value)
        }
        return headers
    }

    /// The upstream's response headers to pass back; names HTTPTypes refuses are dropped. Without a
    /// Content-Length the response is sent chunked.
    static func downstreamFields(from headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count + 4)
        HeaderRules.forEachDownstreamHeader(in: headers) { name, value in
            if let fieldName = HTTPField.Name(name) {
                fields.append(HTTPField(name: fieldName, value: value))
            }
        }
        return fields
    }
}
