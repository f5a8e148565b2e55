import FuzzSupport

/// The gateway's request path normalization (Sources/Gateway/RequestPath.swift, compiled into this
/// target through a symlink so the fuzzed code is always the gateway's own). A path it accepts is
/// absolute, has no `//`, `\`, dot segment or encoded `/` `\` `.`, normalizes to itself, and names
/// the same resource as the request did: fully decoded, both are the same bytes.
enum RequestPathFuzz {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard case .valid(let normalized) = RequestPath.normalize(Substring(text)) else { return }
        let output = Array(normalized.utf8)
        Fuzz.check(output.first == UInt8(ascii: "/"), "'\(normalized)' is not absolute")
        Fuzz.check(!normalized.contains("//") && !normalized.contains("\\"), "'\(normalized)' keeps // or \\")
        Fuzz.check(!RequestPath.hasDotSegment(normalized), "'\(normalized)' keeps a dot segment")
        Fuzz.check(RequestPath.normalize(normalized) == .valid(normalized), "normalizing '\(normalized)' again changes it")
        var index = 0
        while index < output.count {
            if output[index] == UInt8(ascii: "%") {
                Fuzz.check(index + 2 < output.count, "'\(normalized)' ends in a broken escape")
                let digits = output[(index + 1)...(index + 2)]
                Fuzz.check(digits.allSatisfy { isUpperHex($0) }, "'\(normalized)' has a lower-case or broken escape")
                index += 3
            } else {
                index += 1
            }
        }
        let requested = mergeSlashes(decode(Array(text.utf8)))
        Fuzz.check(decode(output) == requested, "'\(text)' was forwarded as '\(normalized)', another resource")
    }

    static func isUpperHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// Every escape decoded (what an upstream that decodes the path sees).
    static func decode(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return output
    }

    static func mergeSlashes(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        for byte in bytes where !(byte == UInt8(ascii: "/") && output.last == UInt8(ascii: "/")) { output.append(byte) }
        return output
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

@main enum Main {
    static func main() { Fuzz.main(RequestPathFuzz.run, entry: fuzzRequestPath) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestPath(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    RequestPathFuzz.run(Fuzz.bytes(data, size))
    return 0
}
