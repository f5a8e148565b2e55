/// An upstream's HTTP/1.x responses, parsed from bytes as they arrive (RFC 9112), so that the
/// gateway can pass heads and bodies on without building strings or header lists.
///
/// The caller says when a response is due (``expectResponse(toHEAD:)``), then hands over what the
/// socket delivered with ``parse(_:_:)``. Events carry offsets into that input: a head (its fields
/// as ranges), body pieces (chunk framing removed), and the end. Bytes it cannot use yet (a head
/// or a chunk-size line cut by the read) are not consumed; the caller gives them again with what
/// follows. Anything outside the grammar, or more than the limits, is an error, and the caller
/// closes the connection: an upstream that sends a malformed response is not trusted with the
/// next one.
public struct ResponseParser: Sendable {
    public enum Framing: Sendable, Equatable {
        /// No body: the answer to HEAD, 204, 304.
        case none
        case length(Int)
        case chunked
        /// The body runs until the upstream closes the connection.
        case untilClose
    }

    /// A header field's name and value (without surrounding whitespace), as offsets in the input.
    public struct Field: Sendable, Equatable {
        public var name: Range<Int>
        public var value: Range<Int>
    }

    public struct Head: Sendable {
        /// The minor version: 0 or 1.
        public var minor: Int
        public var status: Int
        public var reason: Range<Int>
        /// The fields in order. The array shares the parser's storage: kept past the event, it
        /// costs a copy when the next response is parsed.
        public var fields: [Field]
        /// The Content-Length the fields declare (one number, however it was written), also for
        /// a response that has no body (the answer to HEAD tells the length GET would have).
        public var contentLength: Int?
        public var keepAlive: Bool
        public var framing: Framing
        /// Where the head starts in the input and how long it is, blank line included.
        public var start: Int
        public var count: Int
    }

    public enum Event: Sendable {
        case head(Head)
        /// Body bytes, as offsets in the input.
        case body(Range<Int>)
        case end
    }

    public enum ParseError: Error, Sendable, Equatable {
        /// Bytes arrived while no response was due.
        case unsolicited
        case malformedStatusLine
        case malformedField
        case headTooLarge
        case tooManyFields
        case badContentLength
        /// Transfer-Encoding together with Content-Length (a smuggling pattern), or 101 (never asked for).
        case badFraming
        case malformedChunk
        /// The connection ended before the response did.
        case truncated
    }

    private enum State: Sendable {
        case idle
        case head
        case length(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
    }

    public static let maxHeadBytes = 64 * 1024
    private static let versionPrefix = Array("HTTP/1.".utf8)
    public static let maxFields = 256
    /// A chunk-size line, extensions included.
    static let maxChunkLine = 1024

    private var state = State.idle
    private var answersHead = false
    private var fields: [Field] = []
    private var trailerBytes = 0
    /// How far the search for the end of an incomplete head got, from the head's start.
    private var headScan = (scanned: 0, lineStart: 0)

    public init() {}

    /// Whether a response is due or in progress.
    public var isBusy: Bool {
        if case .idle = state { return false }
        return true
    }

    /// A request went out: its response comes next. `toHEAD`: the request was HEAD, so the
    /// response has no body whatever its head says.
    public mutating func expectResponse(toHEAD: Bool) {
        state = .head
        headScan = (0, 0)
        answersHead = toHEAD
    }

    /// Parses what it can of `input`, calling `emit` with each event; returns how many bytes it used.
    public mutating func parse(_ input: UnsafeRawBufferPointer, _ emit: (Event) -> Void) throws(ParseError) -> Int {
        var at = 0
        while at < input.count {
            switch state {
            case .idle:
                throw .unsolicited
            case .head:
                // Nil: the head is not complete yet (parseHead refuses one past the limit).
                guard let head = try parseHead(input, from: at) else { return at }
                at += head.count
                // Interim answers (100 Continue, 103 Early Hints) are dropped; the final one follows.
                if head.status < 200 { continue }
                emit(.head(head))
                switch head.framing {
                case .none, .length(0):
                    finishResponse(emit)
                case .length(let length):
                    state = .length(remaining: length)
                case .chunked:
                    state = .chunkSize
                case .untilClose:
                    state = .untilClose
                }
            case .length(let remaining):
                let take = min(remaining, input.count - at)
                emit(.body(at..<(at + take)))
                at += take
                if take == remaining {
                    finishResponse(emit)
                } else {
                    state = .length(remaining: remaining - take)
                }
            case .untilClose:
                emit(.body(at..<input.count))
                at = input.count
            case .chunkSize:
                guard let (size, lineEnd) = try parseChunkSize(input, from: at) else { return at }
                at = lineEnd
                state = size == 0 ? .trailers : .chunkData(remaining: size)
                trailerBytes = 0
            case .chunkData(let remaining):
                let take = min(remaining, input.count - at)
                emit(.body(at..<(at + take)))
                at += take
                state = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            case .chunkDataEnd:
                // CRLF (or a bare LF) after the data.
                guard let end = lineEnd(input, from: at, limit: 2) else {
                    if input.count - at >= 2 { throw .malformedChunk }
                    return at
                }
                guard end.contentEnd == at else { throw .malformedChunk }
                at = end.next
                state = .chunkSize
            case .trailers:
                // Trailer fields are read and dropped; a blank line ends the message.
                guard let end = lineEnd(input, from: at, limit: Self.maxHeadBytes) else {
                    if input.count - at > Self.maxHeadBytes - trailerBytes { throw .headTooLarge }
                    return at
                }
                trailerBytes += end.next - at
                guard trailerBytes <= Self.maxHeadBytes else { throw .headTooLarge }
                let blank = end.contentEnd == at
                at = end.next
                if blank { finishResponse(emit) }
            }
        }
        return at
    }

    /// The connection closed: a body that runs until the close ends here; any other response in
    /// progress is cut short (an error). Nothing due is fine.
    public mutating func finish(_ emit: (Event) -> Void) throws(ParseError) {
        switch state {
        case .idle:
            return
        case .untilClose:
            finishResponse(emit)
        default:
            state = .idle
            throw .truncated
        }
    }

    private mutating func finishResponse(_ emit: (Event) -> Void) {
        state = .idle
        emit(.end)
    }

    // MARK: Lines

    /// The end of the line starting at `from`: where its content ends (before CR LF, or a bare
    /// LF) and where the next line starts. Nil when no LF comes within `limit` bytes.
    private func lineEnd(_ input: UnsafeRawBufferPointer, from: Int, limit: Int) -> (contentEnd: Int, next: Int)? {
        let stop = min(input.count, from + limit)
        var index = from
        while index < stop {
            if input[index] == UInt8(ascii: "\n") {
                let contentEnd = index > from && input[index - 1] == UInt8(ascii: "\r") ? index - 1 : index
                return (contentEnd, index + 1)
            }
            index += 1
        }
        return nil
    }

    // MARK: The head

    /// The head starting at `from`, or nil when its blank line has not arrived yet.
    private mutating func parseHead(_ input: UnsafeRawBufferPointer, from start: Int) throws(ParseError) -> Head? {
        // Find the blank line first: nothing is parsed twice when a head comes in pieces, and the
        // search goes on where the last read's ended (the caller gives the head again from its start).
        let limit = min(input.count, start + Self.maxHeadBytes)
        var lineStart = start + headScan.lineStart
        var headEnd: Int?
        var index = start + headScan.scanned
        while index < limit {
            if input[index] == UInt8(ascii: "\n") {
                let content = index - lineStart
                if content == 0 || (content == 1 && input[lineStart] == UInt8(ascii: "\r")) {
                    if lineStart > start {
                        headEnd = index + 1
                        break
                    }
                    // A blank line before the status line (RFC 9112 2.2 allows one to be skipped).
                }
                lineStart = index + 1
            }
            index += 1
        }
        guard let headEnd else {
            if limit - start >= Self.maxHeadBytes { throw .headTooLarge }
            headScan = (limit - start, lineStart - start)
            return nil
        }
        headScan = (0, 0)

        var at = start
        // A leading blank line.
        while at < headEnd, input[at] == UInt8(ascii: "\r") || input[at] == UInt8(ascii: "\n") { at += 1 }
        guard let statusLine = lineEnd(input, from: at, limit: headEnd - at) else { throw .malformedStatusLine }
        let (minor, status, reason) = try parseStatusLine(input, at..<statusLine.contentEnd)
        at = statusLine.next

        fields.removeAll(keepingCapacity: true)
        var contentLength: Int?
        var transferEncoding = false
        var chunkedLast = false
        var close = false
        var keepAlive = false
        while let line = lineEnd(input, from: at, limit: headEnd - at), line.contentEnd > at {
            let field = try parseField(input, at..<line.contentEnd)
            guard fields.count < Self.maxFields else { throw .tooManyFields }
            fields.append(field)
            let name = UnsafeRawBufferPointer(rebasing: input[field.name])
            let value = UnsafeRawBufferPointer(rebasing: input[field.value])
            if HeaderRules.equalsIgnoringCase(bytes: name, "content-length") {
                contentLength = try Self.contentLength(value, previous: contentLength)
            } else if HeaderRules.equalsIgnoringCase(bytes: name, "transfer-encoding") {
                transferEncoding = true
                HeaderRules.forEachListElement(value) { token in chunkedLast = HeaderRules.equalsIgnoringCase(bytes: token, "chunked") }
            } else if HeaderRules.equalsIgnoringCase(bytes: name, "connection") {
                HeaderRules.forEachListElement(value) { token in
                    if HeaderRules.equalsIgnoringCase(bytes: token, "close") { close = true }
                    if HeaderRules.equalsIgnoringCase(bytes: token, "keep-alive") { keepAlive = true }
                }
            }
            at = line.next
        }

        let framing: Framing
        if status == 101 {
            throw .badFraming
        } else if answersHead || status < 200 || status == 204 || status == 304 {
            framing = .none
        } else if transferEncoding {
            guard contentLength == nil else { throw .badFraming }
            framing = chunkedLast ? .chunked : .untilClose
        } else if let contentLength {
            framing = .length(contentLength)
        } else {
            framing = .untilClose
        }
        // An HTTP/1.0 message with Transfer-Encoding cannot be trusted to end where it says (RFC 9112 6.1).
        let persistent = (minor == 1 ? !close : keepAlive && !close && !transferEncoding) && framing != .untilClose
        return Head(
            minor: minor, status: status, reason: reason, fields: fields, contentLength: contentLength, keepAlive: persistent, framing: framing,
            start: start, count: headEnd - start
        )
    }

    /// `HTTP/1.x 3DIGIT[ reason]`.
    private func parseStatusLine(_ input: UnsafeRawBufferPointer, _ line: Range<Int>) throws(ParseError) -> (Int, Int, Range<Int>) {
        guard line.count >= 12, input[line.lowerBound..<(line.lowerBound + 7)].elementsEqual(Self.versionPrefix) else { throw .malformedStatusLine }
        let minorByte = input[line.lowerBound + 7]
        guard minorByte == UInt8(ascii: "0") || minorByte == UInt8(ascii: "1"), input[line.lowerBound + 8] == UInt8(ascii: " ") else {
            throw .malformedStatusLine
        }
        var status = 0
        for index in (line.lowerBound + 9)..<(line.lowerBound + 12) {
            let byte = input[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw .malformedStatusLine }
            status = status * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard status >= 100 else { throw .malformedStatusLine }
        var reasonStart = line.lowerBound + 12
        if reasonStart < line.upperBound {
            guard input[reasonStart] == UInt8(ascii: " ") else { throw .malformedStatusLine }
            reasonStart += 1
        }
        for index in reasonStart..<line.upperBound where !Self.isFieldValueByte(input[index]) { throw .malformedStatusLine }
        return (Int(minorByte - UInt8(ascii: "0")), status, reasonStart..<line.upperBound)
    }

    /// `name: value`: a token, a colon right after it, then the value with its surrounding
    /// spaces and tabs trimmed. A line folded onto the previous one (obs-fold) is refused.
    private func parseField(_ input: UnsafeRawBufferPointer, _ line: Range<Int>) throws(ParseError) -> Field {
        var colon = line.lowerBound
        while colon < line.upperBound, input[colon] != UInt8(ascii: ":") {
            guard HeaderRules.isTokenByte(input[colon]) else { throw .malformedField }
            colon += 1
        }
        guard colon < line.upperBound, colon > line.lowerBound else { throw .malformedField }
        var valueStart = colon + 1
        var valueEnd = line.upperBound
        while valueStart < valueEnd, input[valueStart] == UInt8(ascii: " ") || input[valueStart] == UInt8(ascii: "\t") { valueStart += 1 }
        while valueEnd > valueStart, input[valueEnd - 1] == UInt8(ascii: " ") || input[valueEnd - 1] == UInt8(ascii: "\t") { valueEnd -= 1 }
        for index in valueStart..<valueEnd where !Self.isFieldValueByte(input[index]) { throw .malformedField }
        return Field(name: line.lowerBound..<colon, value: valueStart..<valueEnd)
    }

    /// VCHAR, obs-text, space and tab: no control characters (a CR or NUL could split or cut the
    /// header where it is written again).
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte != 0x7F || byte == UInt8(ascii: "\t")
    }

    /// A Content-Length value: digits, or a list of the same number (RFC 9110 8.6); it must agree
    /// with an earlier Content-Length field.
    static func contentLength(_ value: UnsafeRawBufferPointer, previous: Int?) throws(ParseError) -> Int {
        var result = previous
        var failed = false
        HeaderRules.forEachListElement(value) { token in
            var number = 0
            for byte in token {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), number <= (Int.max - 9) / 10 else {
                    failed = true
                    return
                }
                number = number * 10 + Int(byte - UInt8(ascii: "0"))
            }
            if let result, result != number { failed = true }
            result = number
        }
        guard !failed, let result else { throw .badContentLength }
        return result
    }

    // MARK: Chunks

    /// The size on the chunk-size line at `from` (extensions ignored) and where the data starts;
    /// nil when the line has not fully arrived.
    private func parseChunkSize(_ input: UnsafeRawBufferPointer, from: Int) throws(ParseError) -> (Int, Int)? {
        guard let line = lineEnd(input, from: from, limit: Self.maxChunkLine) else {
            if input.count - from >= Self.maxChunkLine { throw .malformedChunk }
            return nil
        }
        var size = 0
        var digits = 0
        var index = from
        // Leading zeros carry no size (some servers pad the size to a fixed width).
        while index + 1 < line.contentEnd, input[index] == UInt8(ascii: "0"), Self.hexValue(input[index + 1]) != nil {
            index += 1
        }
        while index < line.contentEnd, let digit = Self.hexValue(input[index]) {
            // Fifteen hex digits stay below Int.max.
            guard digits < 15 else { throw .malformedChunk }
            size = size << 4 | digit
            digits += 1
            index += 1
        }
        guard digits > 0 else { throw .malformedChunk }
        // Only whitespace and `;` extensions may follow the size.
        while index < line.contentEnd, input[index] == UInt8(ascii: " ") || input[index] == UInt8(ascii: "\t") { index += 1 }
        guard index == line.contentEnd || input[index] == UInt8(ascii: ";") else { throw .malformedChunk }
        for position in index..<line.contentEnd where !Self.isFieldValueByte(input[position]) { throw .malformedChunk }
        return (size, line.next)
    }

    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}

extension HeaderRules {
    /// Calls `body` with each field of a parsed response head that may go back to the client:
    /// everything but hop-by-hop fields and the names its `Connection` fields list, the same rule
    /// as requests get upstream (``forEachUpstreamHeader(in:dropAuthorization:_:)``), on bytes.
    /// `input` holds the head the fields point into.
    public static func forEachDownstreamField(
        in input: UnsafeRawBufferPointer, fields: [ResponseParser.Field], _ body: (ResponseParser.Field) -> Void
    ) {
        // Names the Connection fields list beyond the hop-by-hop ones: usually none.
        var listed: [UnsafeRawBufferPointer] = []
        for field in fields where equalsIgnoringCase(bytes: UnsafeRawBufferPointer(rebasing: input[field.name]), "connection") {
            HeaderRules.forEachListElement(UnsafeRawBufferPointer(rebasing: input[field.value])) { token in
                if !isHopByHop(bytes: token) { listed.append(token) }
            }
        }
        // A long list is looked up in a set, so a hostile head stays linear. Names compare by
        // ASCII case only (RFC 9110 5.1), as the short list does.
        func folded(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
            bytes.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }
        }
        let lookup: Set<[UInt8]>? = listed.count > 8 ? Set(listed.map(folded)) : nil
        for field in fields {
            let name = UnsafeRawBufferPointer(rebasing: input[field.name])
            if isHopByHop(bytes: name) { continue }
            if let lookup {
                if lookup.contains(folded(name)) { continue }
            } else if listed.contains(where: { equalsIgnoringCase(bytes: name, bytes: $0) }) {
                continue
            }
            body(field)
        }
    }

    /// ASCII case-insensitive equality of two byte strings.
    public static func equalsIgnoringCase(bytes first: UnsafeRawBufferPointer, bytes second: UnsafeRawBufferPointer) -> Bool {
        guard first.count == second.count else { return false }
        for index in 0..<first.count {
            let a = first[index]
            let b = second[index]
            let foldedA = a >= UInt8(ascii: "A") && a <= UInt8(ascii: "Z") ? a | 0x20 : a
            let foldedB = b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
            guard foldedA == foldedB else { return false }
        }
        return true
    }
}
