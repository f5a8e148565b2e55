import Tokens

/// Request ids: a caller's own id is kept when it is sane, otherwise a new random one is made.
public enum RequestID {
    /// Returns the caller's id if it is 1-128 visible ASCII characters, else a fresh one.
    public static func resolve(_ incoming: String?) -> String {
        if let incoming, isAcceptable(incoming) { return incoming }
        return make()
    }

    /// 96 random bits, base64url: unguessable and short enough for log lines.
    public static func make() -> String {
        Crypto.randomToken(bytes: 12)
    }

    /// Makes ids for one connection without a call into OpenSSL per request (RAND_bytes takes a
    /// lock and checks the pid with a system call every time): 96 bits from SplitMix64 over a
    /// random 128-bit seed drawn once. Unique and unpredictable enough to correlate log lines; an
    /// id is not a secret and guards nothing.
    public struct Generator: Sendable {
        private var state: UInt64
        private let salt: UInt64

        public init() {
            let seed = Crypto.randomBytes(16)
            var state: UInt64 = 0
            var salt: UInt64 = 0
            for (index, byte) in seed.enumerated() {
                if index < 8 { state = state << 8 | UInt64(byte) } else { salt = salt << 8 | UInt64(byte) }
            }
            self.state = state
            self.salt = salt
        }

        public mutating func next() -> String {
            let high = mix()
            let low = mix() ^ salt
            // 12 bytes on the stack, not in an array: one allocation per id (the string's).
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 12) { bytes in
                for index in 0..<8 { bytes[index] = UInt8(truncatingIfNeeded: high >> (UInt64(index) * 8)) }
                for index in 0..<4 { bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (UInt64(index) * 8)) }
                return Base64URL.encode(buffer: UnsafeBufferPointer(bytes))
            }
        }

        private mutating func mix() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The caller's id if it is sane (see ``resolve(_:)``), else the generator's next one.
    public static func resolve(_ incoming: String?, generator: inout Generator) -> String {
        if let incoming, isAcceptable(incoming) { return incoming }
        return generator.next()
    }

    static func isAcceptable(_ incoming: String) -> Bool {
        !incoming.isEmpty && incoming.utf8.count <= 128
            && incoming.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
    }
}
