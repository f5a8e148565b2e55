/// `application/x-www-form-urlencoded` decoding, the strict way RFC 6749 asks for, on plain strings
/// so the token server's body parsing can be fuzzed without a server.
public enum FormDecoding {
    /// Why a body was refused; the message is fit for an `invalid_request` error_description.
    public struct Failure: Error, Equatable, Sendable {
        public let message: String

        public init(_ message: String) {
            self.message = message
        }
    }

    /// Parses a form body. Parameters sent twice are refused (RFC 6749 3.1); parameters without a
    /// value count as omitted, and pairs without a name are ignored.
    public static func parse(_ body: String) throws(Failure) -> [String: String] {
        var fields: [String: String] = [:]
        // By byte, not by Character: '&' and '=' are ASCII, and grapheme breaking cost more than the decoding.
        for pair in body.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            let nameBytes = pair[..<(equals ?? pair.endIndex)]
            let valueBytes = equals.map { pair[pair.index(after: $0)...] } ?? pair[pair.endIndex...]
            guard let name = decode(bytes: nameBytes), let value = decode(bytes: valueBytes) else {
                throw Failure("request body is not valid form encoding")
            }
            if name.isEmpty { continue }
            guard fields[name] == nil else { throw Failure("parameter '\(name)' is repeated") }
            fields[name] = value
        }
        return fields.filter { !$0.value.isEmpty }
    }

    /// Percent-decoding with `+` as space; nil for broken escapes or invalid UTF-8.
    public static func decode(_ text: Substring) -> String? {
        decode(bytes: text.utf8)
    }

    /// The same, on the UTF-8 bytes of a form field.
    public static func decode(bytes text: some Collection<UInt8>) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var iterator = text.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Percent-encodes everything but unreserved characters (RFC 3986 2.3), so `decode` reads it back.
    public static func encode(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                output += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0x0F, radix: 16, uppercase: true)
            }
        }
        return output
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
