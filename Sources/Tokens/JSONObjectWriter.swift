/// Writes one flat JSON object straight into bytes: what the token endpoint sends for every token
/// (the claims it signs and the response around the token), without Codable's boxing and dynamic
/// casts, which cost more than everything else it does but the signature.
///
/// Strings are escaped as RFC 8259 requires (`"`, `\` and control characters) and are otherwise
/// copied as UTF-8; `/` is not escaped, as with `JSONEncoder`'s `.withoutEscapingSlashes`.
/// The fuzz target (Fuzz/Tokens) checks that `JSONDecoder` reads back exactly what went in.
public struct JSONObjectWriter {
    private var bytes: [UInt8]
    private var empty = true

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    public mutating func field(_ key: StaticString, _ value: String) {
        appendKey(key)
        Self.appendString(value, to: &bytes)
    }

    public mutating func field(_ key: StaticString, _ value: Int64) {
        appendKey(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func field(_ key: StaticString, _ values: [String]) {
        appendKey(key)
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            Self.appendString(value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// The object's bytes, closed.
    public consuming func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func appendKey(_ key: StaticString) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: "\":".utf8)
    }

    /// A JSON string literal; values that need no escaping (nearly all) are copied in one go.
    static func appendString(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        let utf8 = value.utf8
        if utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: utf8)
        } else {
            let hex = Array("0123456789abcdef".utf8)
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
                case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
                case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
                case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
                case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
                case ..<0x20:
                    bytes.append(contentsOf: #"\u00"#.utf8)
                    bytes.append(hex[Int(byte >> 4)])
                    bytes.append(hex[Int(byte & 0x0F)])
                default: bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension TokenClaims {
    /// The claims as the signer writes them: the same members as the Codable encoding (`aud` a
    /// string when there is one audience), absent ones left out.
    public func jsonBytes() -> [UInt8] {
        var object = JSONObjectWriter()
        if let iss { object.field("iss", iss) }
        if let sub { object.field("sub", sub) }
        if aud.count == 1, let only = aud.first {
            object.field("aud", only)
        } else if !aud.isEmpty {
            object.field("aud", aud)
        }
        if let clientID { object.field("client_id", clientID) }
        if let scope { object.field("scope", scope) }
        if let iat { object.field("iat", iat) }
        if let nbf { object.field("nbf", nbf) }
        if let exp { object.field("exp", exp) }
        if let jti { object.field("jti", jti) }
        if let authorities { object.field("authorities", authorities) }
        return object.finish()
    }
}
