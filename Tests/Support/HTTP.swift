import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A response as a test sees it.
public struct TestHTTPResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    public let body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as a JSON object (empty when it is not one).
    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    public func header(_ name: String) -> String? { headers.first(name: name) }
}

/// Plain HTTP over real sockets, like curl: no redirects followed, nothing mocked.
public enum HTTP {
    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public static func request(
        _ method: HTTPMethod = .GET, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: TimeAmount = .seconds(60)
    ) async throws -> TestHTTPResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return TestHTTPResponse(status: Int(response.status.code), headers: response.headers, body: Array(buffer: bytes))
    }

    /// A form POST (`application/x-www-form-urlencoded`), the way `curl -d` sends it.
    public static func form(
        _ url: String, _ fields: [(String, String)], headers: [(String, String)] = []
    ) async throws -> TestHTTPResponse {
        let body = fields.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        return try await request(
            .POST, url, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers, body: Array(body.utf8)
        )
    }

    public static func json(
        _ method: HTTPMethod, _ url: String, _ object: Any, headers: [(String, String)] = []
    ) async throws -> TestHTTPResponse {
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await request(method, url, headers: [("Content-Type", "application/json")] + headers, body: Array(data))
    }

    public static func basic(_ id: String, _ secret: String) -> (String, String) {
        ("Authorization", "Basic " + Data("\(encode(id)):\(encode(secret))".utf8).base64EncodedString())
    }

    public static func bearer(_ token: String) -> (String, String) {
        ("Authorization", "Bearer \(token)")
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// Waits for a condition that another process or task makes true, polling every 50 ms. The
/// deadline is generous on purpose: a busy machine makes it slower, never makes the test fail.
public func eventually(
    timeout: Duration = .seconds(30), _ condition: @Sendable () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
