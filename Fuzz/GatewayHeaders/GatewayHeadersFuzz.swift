import FuzzSupport
import GatewayHeaders

/// The gateway's header handling on hostile requests and responses: the input is read as
/// `name: value` lines, and as an upstream's response stream (``checkResponses(_:)``), and the
/// functions the data path calls are checked against the plain sets. Nothing hop-by-hop,
/// gateway-owned or listed in `Connection` may pass in either direction, everything else must,
/// and a bearer token read from `Authorization` must be exactly what a client would have had to send.
enum GatewayHeadersFuzz {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        var raw: [(name: String, value: String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? String(parts[1].drop { $0 == " " }) : ""
            // Only what NIO's parser lets through: a field name is a token (RFC 9110 5.6.2).
            if !name.isEmpty && name.utf8.allSatisfy(isTokenByte) { raw.append((name, value)) }
        }
        var listed = Set<String>()
        for (name, value) in raw where name.lowercased() == "connection" { HeaderRules.connectionTokens(value, into: &listed) }

        for dropAuthorization in [false, true] {
            func mayGoUpstream(_ name: String) -> Bool {
                let lower = name.lowercased()
                return !HeaderRules.hopByHop.contains(lower) && !HeaderRules.gatewayOwned.contains(lower) && !listed.contains(lower)
                    && !["host", "content-length", "expect"].contains(lower) && !(dropAuthorization && lower == "authorization")
            }
            var forwarded = 0
            HeaderRules.forEachUpstreamHeader(in: raw, dropAuthorization: dropAuthorization) { name, _ in
                Fuzz.check(mayGoUpstream(name), "\(name) went upstream (drop authorization: \(dropAuthorization))")
                forwarded += 1
            }
            let kept = raw.filter { mayGoUpstream($0.name) }.count
            Fuzz.check(forwarded == kept, "upstream got \(forwarded) headers, \(kept) may pass")
            for (name, _) in raw {
                let lower = name.lowercased()
                Fuzz.check(HeaderRules.isHopByHop(name) == HeaderRules.hopByHop.contains(lower), "isHopByHop(\(name)) disagrees")
                Fuzz.check(HeaderRules.isGatewayOwned(name) == HeaderRules.gatewayOwned.contains(lower), "isGatewayOwned(\(name)) disagrees")
            }
        }

        checkBearer(text)
        for (name, value) in raw where name.lowercased() == "authorization" { checkBearer(value) }
        checkResponses(bytes)
    }

    /// What one run of ``ResponseParser`` over a stream made of: every event as bytes (a body piece
    /// cut inside a UTF-8 sequence would decode differently as text), and how it ended.
    struct Run: Equatable {
        var events: [[UInt8]] = []
        var error: ResponseParser.ParseError?
    }

    /// The same bytes read as an upstream's response stream (a HEAD answer when the first byte is
    /// odd): fed whole, and cut in two where the first byte says, the parser must see the same
    /// responses (a read boundary changes nothing), every range it reports must lie in its input,
    /// a body with a length must have exactly that length, and the fields it passes back to a
    /// client must be those the plain sets allow.
    static func checkResponses(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let toHEAD = first & 1 == 1
        let whole = parseStream(bytes, cut: nil, toHEAD: toHEAD)
        let cut = parseStream(bytes, cut: Int(first) % (bytes.count + 1), toHEAD: toHEAD)
        Fuzz.check(whole == cut, "a read boundary changed the result: \(describe(whole)) against \(describe(cut))")
    }

    static func parseStream(_ bytes: [UInt8], cut: Int?, toHEAD: Bool) -> Run {
        var parser = ResponseParser()
        parser.expectResponse(toHEAD: toHEAD)
        var run = Run()
        var pending: [UInt8] = []
        var length: Int?
        var received = 0
        for piece in cut.map({ [bytes[..<$0], bytes[$0...]] }) ?? [bytes[...]] {
            let input = pending + piece
            do {
                let consumed = try input.withUnsafeBytes { raw in
                    try parser.parse(raw) { event in
                        switch event {
                        case .head(let head):
                            Fuzz.check(head.start >= 0 && head.count > 0 && head.start + head.count <= raw.count, "head outside its input")
                            for field in head.fields {
                                Fuzz.check(field.name.lowerBound >= head.start && field.value.upperBound <= head.start + head.count, "field outside the head")
                            }
                            run.events.append(Array("head \(head.status) \(head.framing) \(head.keepAlive) ".utf8) + raw[head.start..<(head.start + head.count)])
                            checkDownstream(raw, head)
                            if case .length(let count) = head.framing { length = count } else { length = nil }
                            received = 0
                        case .body(let range):
                            Fuzz.check(range.lowerBound >= 0 && range.upperBound <= raw.count, "body outside its input")
                            received += range.count
                            run.events.append(Self.bodyMark + raw[range])
                        case .end:
                            if let length { Fuzz.check(received == length, "a body of \(received) bytes ended with Content-Length \(length)") }
                            run.events.append(Array("end".utf8))
                        }
                    }
                }
                Fuzz.check(consumed >= 0 && consumed <= input.count, "consumed \(consumed) of \(input.count)")
                pending = Array(input[consumed...])
            } catch let error as ResponseParser.ParseError {
                run.error = error
                return merged(run)
            } catch {
                Fuzz.check(false, "unexpected error \(error)")
            }
        }
        return merged(run)
    }

    /// Body pieces may be cut differently by the reads; compare what they add up to.
    static func merged(_ run: Run) -> Run {
        var run = run
        run.events = run.events.reduce(into: []) { merged, event in
            if event.starts(with: bodyMark), let last = merged.last, last.starts(with: bodyMark) {
                merged[merged.count - 1] = last + event.dropFirst(bodyMark.count)
            } else {
                merged.append(event)
            }
        }
        return run
    }

    static let bodyMark = Array("body ".utf8)

    static func describe(_ run: Run) -> String {
        "\(run.events.map { String(decoding: $0, as: UTF8.self) }), error: \(String(describing: run.error))"
    }

    /// The fields ``HeaderRules/forEachDownstreamField(in:fields:_:)`` passes back, against the sets.
    static func checkDownstream(_ raw: UnsafeRawBufferPointer, _ head: ResponseParser.Head) {
        func text(_ range: Range<Int>) -> String { String(decoding: raw[range], as: UTF8.self) }
        // Field names compare by ASCII case only.
        func lower(_ bytes: some Sequence<UInt8>) -> String {
            String(decoding: bytes.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        var listed = Set<String>()
        for field in head.fields where lower(raw[field.name]) == "connection" {
            for token in raw[field.value].split(separator: UInt8(ascii: ",")) {
                listed.insert(lower(token.drop { $0 == 32 || $0 == 9 }.reversed().drop { $0 == 32 || $0 == 9 }.reversed()))
            }
        }
        let expected = head.fields.filter { field in
            let lower = lower(raw[field.name])
            return !HeaderRules.hopByHop.contains(lower) && !listed.contains(lower)
        }
        var passed: [ResponseParser.Field] = []
        HeaderRules.forEachDownstreamField(in: raw, fields: head.fields) { passed.append($0) }
        Fuzz.check(passed == expected, "fields passed back: \(passed.map { text($0.name) }), expected \(expected.map { text($0.name) })")
    }

    /// tchar: ALPHA, DIGIT and !#$%&'*+-.^_`|~
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    static func checkBearer(_ header: String) {
        guard case .token(let token) = BearerToken.extract(header) else { return }
        Fuzz.check(!token.isEmpty && !token.utf8.contains(UInt8(ascii: " ")), "token '\(token)' is empty or has a space")
        Fuzz.check(header.lowercased().hasPrefix("bearer "), "token read from a non-Bearer header '\(header)'")
        Fuzz.check(header.hasSuffix(token), "token '\(token)' is not the end of '\(header)'")
        Fuzz.check(BearerToken.extract("Bearer " + token) == .token(token), "token '\(token)' does not read back")
    }
}

@main enum Main {
    static func main() { Fuzz.main(GatewayHeadersFuzz.run, entry: fuzzGatewayHeaders) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGatewayHeaders(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    GatewayHeadersFuzz.run(Fuzz.bytes(data, size))
    return 0
}
