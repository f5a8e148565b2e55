import FuzzSupport
import PortierTracing

/// `traceparent` values from hostile clients: parsing never traps, whatever parses writes back as
/// a valid version-00 value of the same trace, and a version-00 value with known flags writes back
/// byte for byte.
enum TraceParentFuzz {
    static func run(_ bytes: [UInt8]) {
        _ = TraceState.isAcceptable(String(decoding: bytes, as: UTF8.self))
        guard let parsed = TraceParent(parsing: bytes) else {
            Fuzz.check(bytes.count < TraceParent.length || !looksValid(bytes), "a well-formed value was refused: \(bytes)")
            return
        }
        let header = parsed.header
        Fuzz.check(header.utf8.count == TraceParent.length, "written as \(header.utf8.count) bytes")
        Fuzz.check(TraceParent(header) == parsed, "\(header) does not read back")
        Fuzz.check(parsed.traceIDHigh != 0 || parsed.traceIDLow != 0, "an all-zero trace id was accepted")
        Fuzz.check(parsed.parentID != 0, "a zero parent id was accepted")
        Fuzz.check(parsed.flags & ~TraceParent.knownFlags == 0, "unknown flags were kept")
        if bytes.starts(with: Array("00-".utf8)) {
            // Ids as read; flags masked to the known bits.
            Fuzz.check(Array(header.utf8.prefix(53)) == Array(bytes.prefix(53)), "version 00 was not written back as read: \(header)")
        }
        let child = parsed.child(spanID: 42)
        Fuzz.check(child.traceID == parsed.traceID && child.parentID == 42, "a child left the trace")
    }

    /// An independent reading of the W3C rules for the first 55 bytes.
    static func looksValid(_ bytes: [UInt8]) -> Bool {
        func hex(_ range: Range<Int>) -> Bool {
            range.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[$0]) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(bytes[$0]) }
        }
        func zero(_ range: Range<Int>) -> Bool { range.allSatisfy { bytes[$0] == UInt8(ascii: "0") } }
        let dash = UInt8(ascii: "-")
        guard hex(0..<2), !(bytes[0] == UInt8(ascii: "f") && bytes[1] == UInt8(ascii: "f")) else { return false }
        let version00 = bytes[0] == UInt8(ascii: "0") && bytes[1] == UInt8(ascii: "0")
        if version00 && bytes.count != 55 { return false }
        if !version00 && bytes.count > 55 && bytes[55] != dash { return false }
        return bytes[2] == dash && hex(3..<35) && !zero(3..<35) && bytes[35] == dash && hex(36..<52) && !zero(36..<52) && bytes[52] == dash
            && hex(53..<55)
    }
}

@main enum Main {
    static func main() { Fuzz.main(TraceParentFuzz.run, entry: fuzzTraceParent) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTraceParent(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    TraceParentFuzz.run(Fuzz.bytes(data, size))
    return 0
}
