import PortierTracing

/// Request ids: a caller's own id is kept when it is sane, otherwise a new random one is made.
public enum RequestID {
    /// Returns the caller's id if it is 1-128 visible ASCII characters, else a fresh one.
    public static func resolve(_ incoming: String?) -> String {
        if let incoming, isAcceptable(incoming) { return incoming }
        return make()
    }

    /// 96 random bits, base64url: unguessable and short enough for log lines.
    public static func make() -> String {
        var random = SystemRandomNumberGenerator()  // the kernel's getrandom on Linux
        return encode(high: random.next(), low: random.next())
    }

    /// The 12 bytes of `high` and the low half of `low` as 16 base64url characters (12 bytes are
    /// four whole groups of three: no padding).
    static func encode(high: UInt64, low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { out in
            var groups = (high, low)
            withUnsafeBytes(of: &groups) { raw in
                alphabet.withUnsafeBufferPointer { alphabet in
                    var o = 0
                    for group in 0..<4 {
                        let i = group * 3
                        // Bytes 0-7 are `high`'s, 8-11 the first four of `low`'s (little-endian either way).
                        let b0 = raw[i], b1 = raw[i + 1], b2 = raw[i + 2]
                        out[o] = alphabet[Int(b0 >> 2)]
                        out[o + 1] = alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)]
                        out[o + 2] = alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]
                        out[o + 3] = alphabet[Int(b2 & 0x3F)]
                        o += 4
                    }
                }
            }
            return 16
        }
    }

    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Makes ids for one connection without a system call per request: 96 bits from SplitMix64
    /// over a random 128-bit seed drawn once. Unique and unpredictable enough to correlate log lines; an
    /// id is not a secret and guards nothing.
    public struct Generator: Sendable {
        private var mixer = SplitMix64()
        private let salt: UInt64

        public init() {
            var random = SystemRandomNumberGenerator()
            salt = random.next()
        }

        public mutating func next() -> String {
            let high = mix()
            let low = mix() ^ salt
            // One allocation per id: the string's.
            return RequestID.encode(high: high, low: low)
        }

        private mutating func mix() -> UInt64 {
            mixer.next()
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
