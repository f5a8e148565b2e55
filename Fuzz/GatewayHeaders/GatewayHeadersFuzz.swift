import FuzzSupport
import GatewayHeaders
import HTTPTypes

/// The gateway's header handling on hostile requests and responses: the input is read as
/// `name: value` lines. Nothing hop-by-hop, gateway-owned or listed in `Connection` may pass in
/// either direction, everything else must, and a bearer token read from `Authorization` must be
/// exactly what a client would have had to send.
enum GatewayHeadersFuzz {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        var raw: [(name: String, value: String)] = []
        var fields = HTTPFields()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? String(parts[1].drop { $0 == " " }) : ""
            raw.append((name, value))
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }

        for dropAuthorization in [false, true] {
            var listed = Set<String>()
            for value in fields[values: .connection] { HeaderRules.connectionTokens(value, into: &listed) }
            var forwarded = 0
            HeaderRules.forEachUpstreamField(in: fields, dropAuthorization: dropAuthorization) { field in
                let name = field.name.canonicalName
                Fuzz.check(!HeaderRules.hopByHop.contains(name), "hop-by-hop \(name) went upstream")
                Fuzz.check(!HeaderRules.gatewayOwned.contains(name), "client-sent \(name) went upstream")
                Fuzz.check(!listed.contains(name), "\(name), listed in Connection, went upstream")
                Fuzz.check(!["host", "content-length", "expect"].contains(name), "\(name) went upstream")
                Fuzz.check(!(dropAuthorization && name == "authorization"), "a verified token went upstream")
                forwarded += 1
            }
            let kept = fields.filter { field in
                let name = field.name.canonicalName
                return !HeaderRules.hopByHop.contains(name) && !HeaderRules.gatewayOwned.contains(name) && !listed.contains(name)
                    && !["host", "content-length", "expect"].contains(name) && !(dropAuthorization && name == "authorization")
            }
            Fuzz.check(forwarded == kept.count, "upstream got \(forwarded) headers, \(kept.count) may pass")
        }

        var responseListed = Set<String>()
        for (name, value) in raw where name.lowercased() == "connection" { HeaderRules.connectionTokens(value, into: &responseListed) }
        var passedBack = 0
        HeaderRules.forEachDownstreamHeader(in: raw) { name, _ in
            let lower = name.lowercased()
            Fuzz.check(!HeaderRules.hopByHop.contains(lower), "hop-by-hop \(name) went back to the client")
            Fuzz.check(!responseListed.contains(lower), "\(name), listed in Connection, went back to the client")
            passedBack += 1
        }
        let mayPass = raw.filter { !HeaderRules.hopByHop.contains($0.name.lowercased()) && !responseListed.contains($0.name.lowercased()) }
        Fuzz.check(passedBack == mayPass.count, "client got \(passedBack) headers, \(mayPass.count) may pass")

        // The byte-level checks on the data path agree with the sets for every ASCII name (field
        // names on the wire are ASCII tokens; NIO refuses anything else before they get here).
        for (name, _) in raw where name.utf8.allSatisfy({ $0 < 0x80 }) {
            let lower = name.lowercased()
            Fuzz.check(HeaderRules.isHopByHop(name) == HeaderRules.hopByHop.contains(lower), "isHopByHop(\(name)) disagrees")
            Fuzz.check(HeaderRules.isGatewayOwned(name) == HeaderRules.gatewayOwned.contains(lower), "isGatewayOwned(\(name)) disagrees")
            for dropAuthorization in [false, true] {
                let dropped =
                    HeaderRules.hopByHop.contains(lower) || HeaderRules.gatewayOwned.contains(lower)
                    || ["host", "content-length", "expect"].contains(lower) || (dropAuthorization && lower == "authorization")
                Fuzz.check(HeaderRules.isDroppedUpstream(name, dropAuthorization: dropAuthorization) == dropped, "isDroppedUpstream(\(name)) disagrees")
            }
        }

        checkBearer(text)
        for field in fields where field.name == .authorization { checkBearer(field.value) }
    }

    static func checkBearer(_ header: String) {
        guard case .token(let token) = BearerToken.extract(header) else { return }
        Fuzz.check(!token.isEmpty && !token.utf8.contains(UInt8(ascii: " ")), "token '\(token)' is empty or has a space")
        Fuzz.check(header.lowercased().hasPrefix("bearer "), "token read from a non-Bearer header '\(header)'")
        Fuzz.check(header.hasSuffix(token), "token '\(token)' is not the end of '\(header)'")
        Fuzz.check(BearerToken.extract("Bearer " + token) == .token(token), "token '\(token)' does not read back")
    }
}

@main enum Main {
    static func main() { Fuzz.main(GatewayHeadersFuzz.run, entry: fuzzGatewayHeaders) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGatewayHeaders(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    GatewayHeadersFuzz.run(Fuzz.bytes(data, size))
    return 0
}
