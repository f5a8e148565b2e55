import Foundation

/// Works out the real client address behind trusted reverse proxies (the gateway, a load balancer).
public struct TrustedProxies: Sendable, Equatable {
    let exact: Set<String>
    let ipv4Networks: [(network: UInt32, mask: UInt32)]

    /// Entries are IP addresses or IPv4 CIDR blocks ("10.0.0.0/8"). Invalid entries throw.
    public init(_ entries: [String]) throws {
        var exact = Set<String>()
        var networks: [(UInt32, UInt32)] = []
        for entry in entries {
            let parts = entry.split(separator: "/")
            if parts.count == 2, let address = Self.ipv4(parts[0]), let bits = Int(parts[1]), (0...32).contains(bits) {
                let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - bits)
                networks.append((address & mask, mask))
            } else if parts.count == 1, Self.ipv4(parts[0]) != nil || entry.contains(":") {
                exact.insert(entry)
            } else {
                throw TrustedProxiesError(entry: entry)
            }
        }
        self.exact = exact
        self.ipv4Networks = networks
    }

    /// Loopback only: the local gateway may speak for its clients.
    public static let loopback = TrustedProxies(exact: ["::1"], ipv4Networks: [(network: 0x7F00_0000, mask: 0xFF00_0000)])

    private init(exact: Set<String>, ipv4Networks: [(network: UInt32, mask: UInt32)]) {
        self.exact = exact
        self.ipv4Networks = ipv4Networks
    }

    public func contains(_ address: String) -> Bool {
        if exact.isEmpty && ipv4Networks.isEmpty { return false }
        if exact.contains(address) { return true }
        guard let ip = Self.ipv4(Substring(address)) else { return false }
        return ipv4Networks.contains { ip & $0.mask == $0.network }
    }

    /// The client address: the peer, unless the peer is a trusted proxy, in which case the
    /// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
    public func clientAddress(peer: String, forwardedFor: String?) -> String {
        guard let forwardedFor, contains(peer) else { return peer }
        let hops = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for hop in hops.reversed() where !contains(hop) {
            return hop
        }
        return hops.first ?? peer
    }

    public static func == (lhs: TrustedProxies, rhs: TrustedProxies) -> Bool {
        lhs.exact == rhs.exact && lhs.ipv4Networks.elementsEqual(rhs.ipv4Networks) { $0 == $1 }
    }

    static func ipv4(_ text: Substring) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard octet.count <= 3, let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}

public struct TrustedProxiesError: Error, CustomStringConvertible {
    public let entry: String
    public var description: String { "trusted proxy '\(entry)' is neither an IP address nor an IPv4 CIDR block" }
}
