import Foundation
import Hummingbird
import NIOCore
import PortierHTTP

/// `application/x-www-form-urlencoded` request bodies, read the strict way RFC 6749 asks for.
enum FormBody {
    /// Token endpoint bodies are tiny; anything bigger is refused before parsing.
    static let maxBytes = 64 * 1024

    /// Checks the content type, reads at most ``maxBytes`` and parses. Parameters sent twice are
    /// an `invalid_request` (RFC 6749 3.1); parameters without a value count as omitted.
    static func read(_ request: Request) async throws -> [String: String] {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard mediaType == "application/x-www-form-urlencoded" else {
            throw OAuthError.invalidRequest(
                "Content-Type must be application/x-www-form-urlencoded, got '\(contentType.isEmpty ? "none" : contentType)'"
            )
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            var error = OAuthError.invalidRequest("request body is larger than \(maxBytes) bytes")
            error.status = .contentTooLarge
            throw error
        }
        return try parse(String(buffer: buffer))
    }

    static func parse(_ body: String) throws(APIError) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else {
                throw OAuthError.invalidRequest("request body is not valid form encoding")
            }
            if name.isEmpty { continue }
            guard fields[name] == nil else { throw OAuthError.invalidRequest("parameter '\(name)' is repeated") }
            fields[name] = value
        }
        return fields.filter { !$0.value.isEmpty }
    }

    /// Percent-decoding with `+` as space; nil for broken escapes or invalid UTF-8.
    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
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

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
