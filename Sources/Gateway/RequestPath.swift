/// The request path the gateway routes on and forwards, normalized the way Envoy does it, so that
/// no spelling of a path reaches a route other than the one its decoded form matches:
///
/// - percent-encoded unreserved characters are decoded (`/%72ooms` is `/rooms`, RFC 3986 6.2.2.2),
///   other escapes keep their encoding with upper-case hex digits (6.2.2.1);
/// - runs of slashes are merged (`//payments` is `/payments`, Envoy's `merge_slashes`);
/// - refused with 400: encoded `/`, `\` and `.` (`%2F`, `%5C`, `%2E`: an upstream may decode them
///   into separators or dot segments after the gateway matched), a raw `\`, malformed escapes,
///   dot segments (`.`, `..`, also with `;` parameters as in `/..;/`), targets that are not an
///   absolute path, and `;` raw or encoded: servlet containers (Tomcat, Spring) drop `;params` from
///   a segment, so `/secure;x` would reach `/secure` behind a catch-all route that matched
///   `/secure;x` instead (Spring Security's StrictHttpFirewall refuses it the same way).
///
/// A path that needs no change is returned as is, without allocating.
enum RequestPath {
    enum Outcome: Equatable {
        case valid(Substring)
        case refused(String)
    }

    static func normalize(_ path: Substring) -> Outcome {
        let bytes = path.utf8
        guard bytes.first == UInt8(ascii: "/") else { return .refused("the request target must be an absolute path") }
        // Only built once something must change.
        var output: [UInt8]?
        var index = bytes.startIndex
        var previous: UInt8 = 0
        while index != bytes.endIndex {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "%"):
                let first = bytes.index(after: index)
                guard first != bytes.endIndex else { return .refused("malformed percent-encoding in the path") }
                let second = bytes.index(after: first)
                guard second != bytes.endIndex, let high = hexValue(bytes[first]), let low = hexValue(bytes[second]) else {
                    return .refused("malformed percent-encoding in the path")
                }
                let decoded = high << 4 | low
                switch decoded {
                case UInt8(ascii: "/"), UInt8(ascii: "\\"):
                    return .refused("the path must not contain an encoded '/' or '\\' (%2F, %5C)")
                case UInt8(ascii: "."):
                    return .refused("the path must not contain an encoded '.' (%2E)")
                case UInt8(ascii: ";"):
                    return .refused("the path must not contain ';' (%3B): path parameters are not accepted")
                default:
                    break
                }
                if isUnreserved(decoded) {
                    if output == nil { output = Array(bytes[bytes.startIndex..<index]) }
                    output?.append(decoded)
                } else {
                    let (upperHigh, upperLow) = (hexDigit(high), hexDigit(low))
                    if output == nil, upperHigh != bytes[first] || upperLow != bytes[second] { output = Array(bytes[bytes.startIndex..<index]) }
                    output?.append(UInt8(ascii: "%"))
                    output?.append(upperHigh)
                    output?.append(upperLow)
                }
                previous = decoded
                index = bytes.index(after: second)
                continue
            case UInt8(ascii: "\\"):
                return .refused("the path must not contain '\\'")
            case UInt8(ascii: ";"):
                return .refused("the path must not contain ';': path parameters are not accepted")
            case UInt8(ascii: "/") where previous == UInt8(ascii: "/"):
                // Merged: the byte is dropped.
                if output == nil { output = Array(bytes[bytes.startIndex..<index]) }
            default:
                output?.append(byte)
            }
            previous = byte
            index = bytes.index(after: index)
        }
        let normalized = output.map { Substring(decoding: $0, as: UTF8.self) } ?? path
        if hasDotSegment(normalized) { return .refused("the path must not contain '.' or '..' segments") }
        return .valid(normalized)
    }

    /// A segment that is `.` or `..`, alone or before `;` parameters (Tomcat reads `/..;/` as `/../`).
    static func hasDotSegment(_ path: Substring) -> Bool {
        // One pass, no allocation: count the dots of each segment's name (the part before any ';').
        var dots = 0
        var inName = true
        var onlyDots = true
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "/"):
                if onlyDots && (dots == 1 || dots == 2) { return true }
                (dots, inName, onlyDots) = (0, true, true)
            case UInt8(ascii: ";") where inName:
                inName = false
            case UInt8(ascii: ".") where inName:
                dots += 1
            default:
                if inName { onlyDots = false }
            }
        }
        return onlyDots && (dots == 1 || dots == 2)
    }

    /// ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 2.3); "." is refused before this is asked.
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10
    }
}
