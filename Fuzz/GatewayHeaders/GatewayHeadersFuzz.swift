import FuzzSupport
import GatewayHeaders

/// The gateway's header handling on hostile requests and responses: the input is read as
/// `name: value` lines, and the functions the data path calls are checked against the plain sets.
/// Nothing hop-by-hop, gateway-owned or listed in `Connection` may pass in either direction,
/// everything else must, and a bearer token read from `Authorization` must be exactly what a
/// client would have had to send.
enum GatewayHeadersFuzz {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        var raw: [(name: String, value: String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? String(parts[1].drop { $0 == " " }) : ""
            // Only what NIO's parser lets through: a field name is a token (RFC 9110 5.6.2).
            if !name.isEmpty && name.utf8.allSatisfy(isTokenByte) { raw.append((name, value)) }
        }
        var listed = Set<String>()
        for (name, value) in raw where name.lowercased() == "connection" { HeaderRules.connectionTokens(value, into: &listed) }

        for dropAuthorization in [false, true] {
            func mayGoUpstream(_ name: String) -> Bool {
                let lower = name.lowercased()
                return !HeaderRules.hopByHop.contains(lower) && !HeaderRules.gatewayOwned.contains(lower) && !listed.contains(lower)
                    && !["host", "content-length", "expect"].contains(lower) && !(dropAuthorization && lower == "authorization")
            }
            var forwarded = 0
            HeaderRules.forEachUpstreamHeader(in: raw, dropAuthorization: dropAuthorization) { name, _ in
                Fuzz.check(mayGoUpstream(name), "\(name) went upstream (drop authorization: \(dropAuthorization))")
                forwarded += 1
            }
            let kept = raw.filter { mayGoUpstream($0.name) }.count
            Fuzz.check(forwarded == kept, "upstream got \(forwarded) headers, \(kept) may pass")
            for (name, _) in raw {
                let lower = name.lowercased()
                Fuzz.check(HeaderRules.isHopByHop(name) == HeaderRules.hopByHop.contains(lower), "isHopByHop(\(name)) disagrees")
                Fuzz.check(HeaderRules.isGatewayOwned(name) == HeaderRules.gatewayOwned.contains(lower), "isGatewayOwned(\(name)) disagrees")
            }
        }

        var passedBack = 0
        HeaderRules.forEachDownstreamHeader(in: raw) { name, _ in
            let lower = name.lowercased()
            Fuzz.check(!HeaderRules.hopByHop.contains(lower), "hop-by-hop \(name) went back to the client")
            Fuzz.check(!listed.contains(lower), "\(name), listed in Connection, went back to the client")
            passedBack += 1
        }
        let mayPass = raw.filter { !HeaderRules.hopByHop.contains($0.name.lowercased()) && !listed.contains($0.name.lowercased()) }
        Fuzz.check(passedBack == mayPass.count, "client got \(passedBack) headers, \(mayPass.count) may pass")

        checkBearer(text)
        for (name, value) in raw where name.lowercased() == "authorization" { checkBearer(value) }
    }

    /// tchar: ALPHA, DIGIT and !#$%&'*+-.^_`|~
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
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
