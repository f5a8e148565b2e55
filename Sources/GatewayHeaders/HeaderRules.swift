/// Which headers a proxy must not pass along (RFC 9110 7.6.1) and which the gateway owns, as pure
/// functions over header names and values: the gateway's data path calls them, and the fuzz
/// target drives them without a server.
public enum HeaderRules {
    /// Connection-specific headers, never forwarded in either direction.
    public static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
        "transfer-encoding", "upgrade",
    ]

    /// Headers the gateway sets itself; whatever a client sent under these names is dropped, so
    /// an upstream can trust them.
    public static let gatewayOwned: Set<String> = [
        "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "forwarded", "x-real-ip", "x-request-id",
        "x-client-id", "x-client-scopes", "x-client-authorities", "traceparent", "tracestate",
    ]

    /// The lowercased names a `Connection` header value lists (comma-separated, optional whitespace):
    /// they are hop-by-hop for this message too.
    @inlinable
    public static func connectionTokens(_ value: some StringProtocol, into tokens: inout Set<String>) {
        forEachConnectionToken(in: String(value)) { tokens.insert($0.lowercased()) }
    }

    /// The names the message's `Connection` headers list, lowercased, leaving out hop-by-hop names
    /// (dropped anyway); nil when that leaves none. That is the usual case (`Connection: keep-alive`
    /// from every upstream), which then costs no set and no lowercasing.
    @inlinable
    public static func connectionListed<Headers: Sequence<(name: String, value: String)>>(in headers: Headers) -> Set<String>? {
        var listed: Set<String>?
        for (name, value) in headers where isConnection(name) {
            forEachConnectionToken(in: value) { token in
                if isHopByHop(token) { return }
                if listed == nil { listed = [] }
                listed?.insert(token.lowercased())
            }
        }
        return listed
    }

    /// Each non-empty token of a `Connection` value, spaces and tabs trimmed, as it was written.
    /// By byte, not by Character: splitting a String by Character cost more than the rest, and
    /// short tokens such as "keep-alive" stay small strings (no allocation).
    @inlinable
    static func forEachConnectionToken(in value: String, _ body: (String) -> Void) {
        var value = value
        value.withUTF8 { bytes in forEachListElement(UnsafeRawBufferPointer(bytes)) { body(String(decoding: $0, as: UTF8.self)) } }
    }

    /// Each non-empty element of a comma-separated list, spaces and tabs trimmed, scanned in place
    /// (`split` would build an array of the pieces first).
    @inlinable
    public static func forEachListElement(_ value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count, value[end] != UInt8(ascii: ",") { end += 1 }
            var first = start
            var last = end
            while first < last, value[first] == UInt8(ascii: " ") || value[first] == UInt8(ascii: "\t") { first += 1 }
            while last > first, value[last - 1] == UInt8(ascii: " ") || value[last - 1] == UInt8(ascii: "\t") { last -= 1 }
            if first < last { body(UnsafeRawBufferPointer(rebasing: value[first..<last])) }
            start = end + 1
        }
    }

    /// Whether `name` is one of the `listed` (lowercased) names. A set, so a `Connection` header
    /// listing thousands of names stays linear; only such a rare message pays for lowercasing.
    @inlinable
    static func isListed(_ name: String, in listed: Set<String>?) -> Bool {
        guard let listed else { return false }
        return listed.contains(name.lowercased())
    }

    /// Calls `body` with each request header that goes upstream: not hop-by-hop, not gateway-owned,
    /// not listed in `Connection`, not Host (set from the upstream URL), Content-Length or
    /// Transfer-Encoding (the gateway frames the body itself) or Expect. `dropAuthorization`: a
    /// verified bearer token is not passed on (as Envoy's jwt_authn does by default); the upstream
    /// gets the verified identity in X-Client-* instead. `headers` is read twice.
    @inlinable
    public static func forEachUpstreamHeader<Headers: Sequence<(name: String, value: String)>>(
        in headers: Headers, dropAuthorization: Bool, _ body: (_ name: String, _ value: String) -> Void
    ) {
        let listed = connectionListed(in: headers)
        for (name, value) in headers {
            if isDroppedUpstream(name, dropAuthorization: dropAuthorization) { continue }
            if isListed(name, in: listed) { continue }
            body(name, value)
        }
    }

    /// ASCII case-insensitive equality with a lowercase name, without allocating.
    @inlinable
    public static func equalsIgnoringCase(_ name: some StringProtocol, _ lowercase: StaticString) -> Bool {
        equalsIgnoringCase(bytes: name.utf8, lowercase)
    }

    /// The same for a name as bytes (the upstream's response heads are not made into strings).
    @inlinable
    public static func equalsIgnoringCase(bytes name: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
        equalsIgnoringCase(name, lowercaseBytes: UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount))
    }

    @inlinable
    static func equalsIgnoringCase(_ name: some Collection<UInt8>, lowercaseBytes other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard name.count == other.count else { return false }
        var index = 0
        for byte in name {
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            guard folded == other[index] else { return false }
            index += 1
        }
        return true
    }

    @inlinable
    public static func isConnection(_ name: String) -> Bool {
        equalsIgnoringCase(name, "connection")
    }

    /// The same as `hopByHop.contains(name.lowercased())`, without building the lowercased name.
    @inlinable
    public static func isHopByHop(_ name: some StringProtocol) -> Bool {
        isHopByHop(bytes: name.utf8)
    }

    @inlinable
    public static func isHopByHop(bytes name: some Collection<UInt8>) -> Bool {
        switch name.count {
        case 2: return equalsIgnoringCase(bytes: name, "te")
        case 7: return equalsIgnoringCase(bytes: name, "upgrade") || equalsIgnoringCase(bytes: name, "trailer")
        case 8: return equalsIgnoringCase(bytes: name, "trailers")
        case 10: return equalsIgnoringCase(bytes: name, "connection") || equalsIgnoringCase(bytes: name, "keep-alive")
        case 16: return equalsIgnoringCase(bytes: name, "proxy-connection")
        case 17: return equalsIgnoringCase(bytes: name, "transfer-encoding")
        case 18: return equalsIgnoringCase(bytes: name, "proxy-authenticate")
        case 19: return equalsIgnoringCase(bytes: name, "proxy-authorization")
        default: return false
        }
    }

    /// tchar (RFC 9110 5.6.2): ALPHA, DIGIT and !#$%&'*+-.^_`|~, the bytes of a field name.
    @inlinable
    public static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"),
            UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// The same as `gatewayOwned.contains(name.lowercased())`, without building the lowercased name.
    @inlinable
    public static func isGatewayOwned(_ name: String) -> Bool {
        switch name.utf8.count {
        case 9: return equalsIgnoringCase(name, "forwarded") || equalsIgnoringCase(name, "x-real-ip")
        case 10: return equalsIgnoringCase(name, "tracestate")
        case 11: return equalsIgnoringCase(name, "x-client-id") || equalsIgnoringCase(name, "traceparent")
        case 12: return equalsIgnoringCase(name, "x-request-id")
        case 15: return equalsIgnoringCase(name, "x-forwarded-for") || equalsIgnoringCase(name, "x-client-scopes")
        case 16: return equalsIgnoringCase(name, "x-forwarded-host") || equalsIgnoringCase(name, "x-forwarded-port")
        case 17: return equalsIgnoringCase(name, "x-forwarded-proto")
        case 20: return equalsIgnoringCase(name, "x-client-authorities")
        default: return false
        }
    }

    /// Whether a request header stays behind by its name alone (``forEachUpstreamHeader(in:dropAuthorization:_:)``
    /// also drops the names `Connection` lists): hop-by-hop, gateway-owned, Host, Content-Length
    /// (the gateway frames the body itself), Expect, and a verified Authorization when `dropAuthorization`.
    @inlinable
    public static func isDroppedUpstream(_ name: String, dropAuthorization: Bool) -> Bool {
        if isHopByHop(name) || isGatewayOwned(name) { return true }
        switch name.utf8.count {
        case 4: return equalsIgnoringCase(name, "host")
        case 6: return equalsIgnoringCase(name, "expect")
        case 13: return dropAuthorization && equalsIgnoringCase(name, "authorization")
        case 14: return equalsIgnoringCase(name, "content-length")
        default: return false
        }
    }
}
