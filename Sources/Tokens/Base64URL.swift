/// Base64url without padding (RFC 4648 section 5), as JWTs and JWKs use it.
///
/// Decoding is strict: padding, whitespace and characters outside the URL-safe alphabet are
/// rejected, so a token cannot be smuggled past the verifier in two spellings. The work happens on
/// contiguous bytes in non-generic code, because this runs for every token the gateway has not seen.
public enum Base64URL {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in alphabet.enumerated() {
            table[Int(char)] = UInt8(index)
        }
        return table
    }()

    /// Encodes bytes as base64url without padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { encode(buffer: $0) }
    }

    /// Encodes the UTF-8 bytes of a string.
    public static func encode(_ string: String) -> String {
        encode(Array(string.utf8))
    }

    /// Decodes base64url without padding; returns nil for anything else.
    public static func decode(_ bytes: [UInt8]) -> [UInt8]? {
        bytes.withUnsafeBufferPointer { decode(buffer: $0) }
    }

    /// Decodes a base64url string or substring (for example one segment of a token).
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        if let result = text.utf8.withContiguousStorageIfAvailable({ decode(buffer: $0) }) { return result }
        return decode(Array(text.utf8))
    }

    /// Decodes a slice of a string's UTF-8 view (a token segment found by splitting on dots).
    public static func decode(_ slice: Substring.UTF8View) -> [UInt8]? {
        decode(Substring(slice))
    }

    public static func encode(buffer bytes: UnsafeBufferPointer<UInt8>) -> String {
        let count = bytes.count
        let outputCount = (count * 4 + 2) / 3
        return String(unsafeUninitializedCapacity: max(outputCount, 1)) { out in
            alphabet.withUnsafeBufferPointer { alphabet in
                var i = 0
                var o = 0
                while i + 3 <= count {
                    let b0 = bytes[i], b1 = bytes[i + 1], b2 = bytes[i + 2]
                    out[o] = alphabet[Int(b0 >> 2)]
                    out[o + 1] = alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)]
                    out[o + 2] = alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]
                    out[o + 3] = alphabet[Int(b2 & 0x3F)]
                    i += 3
                    o += 4
                }
                if count - i == 1 {
                    let b0 = bytes[i]
                    out[o] = alphabet[Int(b0 >> 2)]
                    out[o + 1] = alphabet[Int((b0 & 0x03) << 4)]
                    o += 2
                } else if count - i == 2 {
                    let b0 = bytes[i], b1 = bytes[i + 1]
                    out[o] = alphabet[Int(b0 >> 2)]
                    out[o + 1] = alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)]
                    out[o + 2] = alphabet[Int((b1 & 0x0F) << 2)]
                    o += 3
                }
                return o
            }
        }
    }

    static func decode(buffer text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let count = text.count
        let remainder = count % 4
        if remainder == 1 { return nil }
        let outputCount = count / 4 * 3 + (remainder == 0 ? 0 : remainder - 1)
        var failed = false
        let output = [UInt8](unsafeUninitializedCapacity: outputCount) { out, initialized in
            decodeTable.withUnsafeBufferPointer { table in
                var i = 0
                var o = 0
                while i + 4 <= count {
                    let a = table[Int(text[i])], b = table[Int(text[i + 1])], c = table[Int(text[i + 2])], d = table[Int(text[i + 3])]
                    if (a | b | c | d) & 0xC0 != 0 {
                        failed = true
                        return
                    }
                    out[o] = a << 2 | b >> 4
                    out[o + 1] = b << 4 | c >> 2
                    out[o + 2] = c << 6 | d
                    i += 4
                    o += 3
                }
                if remainder >= 2 {
                    let a = table[Int(text[i])], b = table[Int(text[i + 1])]
                    let c = remainder == 3 ? table[Int(text[i + 2])] : 0
                    // Leftover bits must be zero, otherwise two strings would decode to the same bytes.
                    if (a | b | c) & 0xC0 != 0 || (remainder == 2 && b & 0x0F != 0) || (remainder == 3 && c & 0x03 != 0) {
                        failed = true
                        return
                    }
                    out[o] = a << 2 | b >> 4
                    o += 1
                    if remainder == 3 {
                        out[o] = b << 4 | c >> 2
                        o += 1
                    }
                }
                initialized = o
            }
            if failed { initialized = 0 }
        }
        return failed ? nil : output
    }
}
