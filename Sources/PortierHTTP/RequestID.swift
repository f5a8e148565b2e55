import Tokens

/// Request ids: a caller's own id is kept when it is sane, otherwise a new random one is made.
public enum RequestID {
    /// Returns the caller's id if it is 1-128 visible ASCII characters, else a fresh one.
    public static func resolve(_ incoming: String?) -> String {
        if let incoming, !incoming.isEmpty, incoming.utf8.count <= 128,
            incoming.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        {
            return incoming
        }
        return make()
    }

    /// 96 random bits, base64url: unguessable and short enough for log lines.
    public static func make() -> String {
        Crypto.randomToken(bytes: 12)
    }
}
