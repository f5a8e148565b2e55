import Foundation

/// The top-level object of a request body, with typed field readers whose errors name the field.
/// Unknown fields are ignored (the seed's load test sends extra ones); missing ones are named.
public struct JSONObject: Sendable {
    public let fields: [String: JSONValue]

    public init(fields: [String: JSONValue]) {
        self.fields = fields
    }

    /// Parses a body that must be one JSON object.
    public init(parsing data: Data) throws(RequestError) {
        guard case .object(let fields) = try JSONValue.parse(data) else {
            throw RequestError(field: nil, "the request body must be a JSON object")
        }
        self.fields = fields
    }

    private func value(_ name: String) throws(RequestError) -> JSONValue {
        guard let value = fields[name] else { throw RequestError(field: name, "field \(name) is required") }
        return value
    }

    private func wrongType(_ name: String, _ value: JSONValue, expected: String) -> RequestError {
        RequestError(field: name, "field \(name) has the wrong type: expected \(expected), got \(value.kind)")
    }

    /// An integer field; floats (20.0), exponents and values beyond 64 bits are refused, not rounded.
    public func int64(_ name: String) throws(RequestError) -> Int64 {
        let value = try value(name)
        guard case .number(let text) = value else { throw wrongType(name, value, expected: "an integer") }
        guard let number = StrictInteger.parse(text) ?? WholeNumber.parse(text) else {
            throw RequestError(field: name, "field \(name) must be a whole number between \(Int64.min) and \(Int64.max)")
        }
        return number
    }

    /// An optional integer field; null counts as absent.
    public func optionalInt64(_ name: String) throws(RequestError) -> Int64? {
        guard let value = fields[name], value != .null else { return nil }
        return try int64(name)
    }

    public func string(_ name: String) throws(RequestError) -> String {
        let value = try value(name)
        guard case .string(let text) = value else { throw wrongType(name, value, expected: "a string") }
        return text
    }

    /// A date as "2026-05-05", or the seed's forms "20260505" and 20260505.
    public func date(_ name: String) throws(RequestError) -> CalendarDate {
        let value = try value(name)
        let date: CalendarDate?
        switch value {
        case .string(let text): date = CalendarDate(text)
        case .number(let text): date = StrictInteger.parse(text).flatMap { Int(exactly: $0) }.flatMap { CalendarDate(compact: $0) }
        default: throw wrongType(name, value, expected: "a date like \"2026-05-05\"")
        }
        guard let date else { throw RequestError(field: name, "\(name) must be a date like 2026-05-05") }
        return date
    }
}

/// Integers from text: ASCII digits with an optional leading '-', no '+', no spaces, checked for overflow.
public enum StrictInteger {
    public static func parse(_ text: some StringProtocol) -> Int64? {
        var utf8 = Substring(text).utf8[...]
        let negative = utf8.first == UInt8(ascii: "-")
        if negative { utf8 = utf8.dropFirst() }
        guard !utf8.isEmpty, utf8.count <= 19 else { return nil }
        var value: Int64 = 0
        for byte in utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
        }
        return value
    }
}

/// A JSON number that is a whole number in any of JSON's spellings: `3.0`, `3e0`, `30e-1` and `3`
/// are all the integer 3 to JSON Schema (and to the OpenAPI document), so a field declared
/// `integer` accepts them. Already checked against the JSON grammar; nil when the value has a
/// fraction or is outside Int64.
public enum WholeNumber {
    public static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        var index = 0
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        // The significant digits, and how many of them stood after the decimal point.
        var digits: [UInt8] = []
        var fractionDigits = 0
        while index < bytes.count, isDigit(bytes[index]) {
            digits.append(bytes[index])
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < bytes.count, isDigit(bytes[index]) {
                digits.append(bytes[index])
                fractionDigits += 1
                index += 1
            }
        }
        var exponentText: [UInt8] = []
        var exponentNegative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            while index < bytes.count, isDigit(bytes[index]) {
                exponentText.append(bytes[index])
                index += 1
            }
        }
        guard index == bytes.count, !digits.isEmpty else { return nil }
        // Zero in any spelling (0.0, -0e99999) is zero; otherwise the exponent must be small.
        guard let first = digits.firstIndex(where: { $0 != UInt8(ascii: "0") }) else { return 0 }
        digits.removeFirst(first)
        let exponentDigits = exponentText.drop { $0 == UInt8(ascii: "0") }
        guard exponentDigits.count <= 4 else { return nil }
        var exponent = 0
        for byte in exponentDigits { exponent = exponent * 10 + Int(byte - UInt8(ascii: "0")) }
        // The value is digits x 10^shift.
        let shift = (exponentNegative ? -exponent : exponent) - fractionDigits
        if shift >= 0 {
            guard digits.count + shift <= 19 else { return nil }
            digits += Array(repeating: UInt8(ascii: "0"), count: shift)
        } else {
            let cut = -shift
            guard cut < digits.count, digits.suffix(cut).allSatisfy({ $0 == UInt8(ascii: "0") }) else {
                // Every significant digit would be cut: a fraction of one, never zero (zero left above).
                return nil
            }
            digits.removeLast(cut)
        }
        return StrictInteger.parse((negative ? "-" : "") + String(decoding: digits, as: UTF8.self))
    }
}
