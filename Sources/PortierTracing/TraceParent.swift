/// A W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context-2/): the trace a request
/// belongs to and the span that sent it, as plain integers so the gateway's data path can read,
/// log and write it without allocating.
///
/// Read from bytes by the W3C rules (see ``init(parsing:)``); written as version `00`, which is
/// what a participant must send whatever version it received.
public struct TraceParent: Sendable, Equatable, Hashable {
    /// The 128-bit trace id, high and low halves. Never both zero.
    public var traceIDHigh: UInt64
    public var traceIDLow: UInt64
    /// The id of the span that sent this (the receiver's parent). Never zero.
    public var parentID: UInt64
    /// The flags this participant understands: bit 0 sampled, bit 1 random trace id (Level 2).
    public var flags: UInt8

    /// The flags a participant propagates; unknown bits of a newer version are dropped.
    public static let knownFlags: UInt8 = 0x03
    /// The length of a version-00 value.
    public static let length = 55

    public init(traceIDHigh: UInt64, traceIDLow: UInt64, parentID: UInt64, flags: UInt8) {
        self.traceIDHigh = traceIDHigh
        self.traceIDLow = traceIDLow
        self.parentID = parentID
        self.flags = flags & Self.knownFlags
    }

    public var isSampled: Bool { flags & 0x01 != 0 }

    /// The same trace, sent on by the span `spanID`: what a participant writes to the next hop.
    public func child(spanID: UInt64) -> TraceParent {
        TraceParent(traceIDHigh: traceIDHigh, traceIDLow: traceIDLow, parentID: spanID, flags: flags)
    }

    /// Reads a `traceparent` value; nil when a receiver must ignore it (and start a new trace):
    /// - the version is two lowercase hex digits and not `ff`; version `00` is exactly 55 bytes,
    ///   a later version at least 55 with `-` after the first 55 when longer;
    /// - `-` at 2, 35 and 52; a 32-digit trace id and a 16-digit parent id, lowercase hex and not
    ///   all zeros; two hex digits of flags.
    public init?<Bytes: Collection<UInt8>>(parsing bytes: Bytes) {
        let count = bytes.count
        guard count >= Self.length else { return nil }
        var index = bytes.startIndex
        func take(_ digits: Int) -> UInt64? {
            var value: UInt64 = 0
            for _ in 0..<digits {
                guard let nibble = Self.nibble(bytes[index]) else { return nil }
                value = value << 4 | UInt64(nibble)
                index = bytes.index(after: index)
            }
            return value
        }
        func dash() -> Bool {
            guard bytes[index] == UInt8(ascii: "-") else { return false }
            index = bytes.index(after: index)
            return true
        }
        guard let version = take(2), version != 0xFF else { return nil }
        if version == 0 {
            guard count == Self.length else { return nil }
        } else if count > Self.length {
            guard bytes[bytes.index(bytes.startIndex, offsetBy: Self.length)] == UInt8(ascii: "-") else { return nil }
        }
        guard dash(), let high = take(16), let low = take(16), dash(), let parent = take(16), dash(), let flags = take(2) else { return nil }
        guard high != 0 || low != 0, parent != 0 else { return nil }
        self.init(traceIDHigh: high, traceIDLow: low, parentID: parent, flags: UInt8(truncatingIfNeeded: flags))
    }

    /// Reads the value of a `traceparent` header (see ``init(parsing:)``).
    public init?(_ text: String) {
        self.init(parsing: text.utf8)
    }

    /// The header value, version `00`: 55 bytes.
    public var header: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.length)
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the header value's 55 bytes.
    public func write(into bytes: inout [UInt8]) {
        bytes.append(contentsOf: [UInt8(ascii: "0"), UInt8(ascii: "0"), UInt8(ascii: "-")])
        Self.appendHex(traceIDHigh, digits: 16, to: &bytes)
        Self.appendHex(traceIDLow, digits: 16, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        Self.appendHex(parentID, digits: 16, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        Self.appendHex(UInt64(flags), digits: 2, to: &bytes)
    }

    /// Writes the header value's 55 bytes at the start of `buffer`; returns how many were written
    /// (0 when `buffer` is shorter than that).
    public func write(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard buffer.count >= Self.length else { return 0 }
        var offset = 0
        func put(_ byte: UInt8) {
            buffer[offset] = byte
            offset += 1
        }
        func putHex(_ value: UInt64, digits: Int) {
            var shift = (digits - 1) * 4
            while shift >= 0 {
                put(Self.hexDigits[Int(truncatingIfNeeded: (value >> UInt64(shift)) & 0x0F)])
                shift -= 4
            }
        }
        put(UInt8(ascii: "0"))
        put(UInt8(ascii: "0"))
        put(UInt8(ascii: "-"))
        putHex(traceIDHigh, digits: 16)
        putHex(traceIDLow, digits: 16)
        put(UInt8(ascii: "-"))
        putHex(parentID, digits: 16)
        put(UInt8(ascii: "-"))
        putHex(UInt64(flags), digits: 2)
        return offset
    }

    /// The trace id as 32 lowercase hex digits, as logs and tracing back ends show it.
    public var traceID: String { Self.hex(traceIDHigh) + Self.hex(traceIDLow) }

    /// 16 lowercase hex digits: how span ids are written.
    public static func hex(_ value: UInt64) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        appendHex(value, digits: 16, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the low `digits` hex digits of `value`, most significant first, lowercase.
    public static func appendHex(_ value: UInt64, digits: Int, to bytes: inout [UInt8]) {
        var shift = (digits - 1) * 4
        while shift >= 0 {
            bytes.append(hexDigits[Int(truncatingIfNeeded: (value >> UInt64(shift)) & 0x0F)])
            shift -= 4
        }
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A lowercase hex digit's value; uppercase is not allowed in trace context.
    static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
        default: return nil
        }
    }
}

/// `tracestate`: vendors' own entries, passed on unchanged with the trace they belong to.
public enum TraceState {
    /// The most a participant must pass on (W3C: 32 entries of up to 256 bytes may be cut to 512).
    public static let maxBytes = 512
    /// The most list members W3C allows.
    public static let maxMembers = 32

    /// Whether `value` may be passed on: at most 512 bytes and 32 members of W3C's list grammar,
    /// `key=value` separated by commas (spaces allowed after a comma):
    /// - a key is `[a-z0-9][a-z0-9_*/-]{0,255}`, or `tenant@system` with a tenant of at most 241
    ///   and a system of `[a-z][a-z0-9_*/-]{0,13}`;
    /// - a value is 1-256 printable ASCII bytes without `,` or `=`, not ending in a space.
    ///
    /// Stricter than W3C in one way: an empty member (`a=1,,b=2`) rejects the whole header, as
    /// swift-otel's parser does. A receiver would otherwise drop the client's trace with it.
    public static func isAcceptable(_ value: some StringProtocol) -> Bool {
        let bytes = value.utf8
        guard !bytes.isEmpty, bytes.count <= maxBytes else { return false }
        var state = ListState.memberStart
        var first = true
        var run = 0  // bytes in the current key, tenant, system or value
        var lastWasSpace = false
        var members = 0
        func isKeyByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"),
                UInt8(ascii: "*"), UInt8(ascii: "/"):
                return true
            default: return false
            }
        }
        for byte in bytes {
            switch state {
            case .memberStart:
                if byte == UInt8(ascii: " ") && !first { continue }
                guard (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return false }
                members += 1
                guard members <= maxMembers else { return false }
                (state, run) = (.key, 1)
            case .key:
                if isKeyByte(byte) {
                    run += 1
                    guard run <= 256 else { return false }
                } else if byte == UInt8(ascii: "@") {
                    guard run <= 241 else { return false }
                    (state, run) = (.system, 0)
                } else if byte == UInt8(ascii: "=") {
                    (state, run, lastWasSpace) = (.value, 0, false)
                } else {
                    return false
                }
            case .system:
                if run == 0 {
                    guard (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) else { return false }
                    run = 1
                } else if isKeyByte(byte) {
                    run += 1
                    guard run <= 14 else { return false }
                } else if byte == UInt8(ascii: "=") {
                    (state, run, lastWasSpace) = (.value, 0, false)
                } else {
                    return false
                }
            case .value:
                if byte == UInt8(ascii: ",") {
                    guard run > 0, !lastWasSpace else { return false }
                    (state, first) = (.memberStart, false)
                } else {
                    guard byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "=") else { return false }
                    run += 1
                    guard run <= 256 else { return false }
                    lastWasSpace = byte == UInt8(ascii: " ")
                }
            }
        }
        return state == .value && run > 0 && !lastWasSpace
    }
}

/// Where ``TraceState/isAcceptable(_:)`` is in a list member.
private enum ListState { case memberStart, key, system, value }

/// Trace and span ids for one connection or task, without a system call per id: SplitMix64 over
/// a random seed drawn once (as ``RequestID``'s generator). Ids need to be unique, not secret.
public struct TraceIDGenerator: Sendable {
    private var mixer: SplitMix64

    public init() {
        mixer = SplitMix64()
    }

    /// Starts from `seed` (tests).
    public init(seed: UInt64) {
        mixer = SplitMix64(seed: seed)
    }

    /// A new span id: never zero.
    public mutating func spanID() -> UInt64 {
        while true {
            let value = mix()
            if value != 0 { return value }
        }
    }

    /// A new trace, sent by the span `spanID`: random id (flag bit 1), not sampled.
    public mutating func newTrace(spanID: UInt64) -> TraceParent {
        let high = mix()
        let low = self.spanID()
        return TraceParent(traceIDHigh: high, traceIDLow: low, parentID: spanID, flags: 0x02)
    }

    private mutating func mix() -> UInt64 {
        mixer.next()
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a fast 64-bit sequence from one seed, for ids that must
/// be unique and unpredictable enough, not secret (trace ids, request ids).
public struct SplitMix64: Sendable {
    private var state: UInt64

    /// Seeded by the kernel (getrandom), once.
    public init() {
        var random = SystemRandomNumberGenerator()
        state = random.next()
    }

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
