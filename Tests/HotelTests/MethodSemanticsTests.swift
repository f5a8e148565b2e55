import Foundation
import PortierTestSupport
import Testing

/// What every server promises about methods (the OpenAPI document states it): HEAD answers like
/// GET without a body, a known path asked with a method it does not serve is 405 with `Allow` and
/// the JSON error body, and the gateway serves the document itself.
@Suite(.serialized) struct MethodSemanticsTests {
    /// A raw exchange with `Connection: close`, so any bytes after the head (a body a HEAD answer must
    /// not have) are read too. Returns the status, the headers (lower-cased names) and what followed the head.
    func raw(_ method: String, port: Int, _ path: String, token: String? = nil) async throws -> (status: Int, headers: [String: String], rest: String)
    {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        let text = try await RawSocket.sendAndReadUntilClosed(port: port, request + "\r\n")
        let parts = text.components(separatedBy: "\r\n\r\n")
        let lines = (parts.first ?? "").components(separatedBy: "\r\n")
        let statusLine = lines.first?.split(separator: " ") ?? []
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0, headers, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// HEAD gets GET's status and Content-Length, and not one byte of body.
    func expectHeadLikeGet(port: Int, _ path: String, token: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let get = try await raw("GET", port: port, path, token: token)
        let head = try await raw("HEAD", port: port, path, token: token)
        #expect(head.status == get.status, "HEAD \(path): \(head.status), GET: \(get.status)", sourceLocation: sourceLocation)
        #expect(head.rest.isEmpty, "HEAD \(path) sent a body: \(head.rest)", sourceLocation: sourceLocation)
        #expect(!get.rest.isEmpty, "GET \(path) sent no body", sourceLocation: sourceLocation)
        #expect(head.headers["content-length"] == String(get.rest.utf8.count), "HEAD \(path): \(head.headers)", sourceLocation: sourceLocation)
        #expect(head.headers["content-type"] == "application/json", sourceLocation: sourceLocation)
    }

    func expect405(_ response: TestHTTPResponse, allow: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == 405, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.header("Allow") == allow, sourceLocation: sourceLocation)
        #expect(response.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
        #expect(response.json["error"] as? String == "method_not_allowed", "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.json["request_id"] as? String == response.header("X-Request-Id"), sourceLocation: sourceLocation)
    }

    @Test func headAnswersLikeGetOnEveryServer() async throws {
        try await HotelStack.run { hotel in
            // The probes, on each process directly: the token server, the five services and the gateway.
            for name in ["auth", "gateway"] + HotelStack.Service.allCases.map(\.rawValue) {
                try await expectHeadLikeGet(port: try #require(hotel.ports[name]), "/health/live")
                try await expectHeadLikeGet(port: try #require(hotel.ports[name]), "/health/ready")
            }
            let token = try await demoToken(hotel)
            let gateway = try #require(hotel.ports["gateway"])
            let room = try await hotel.registerRoom()
            // Through the gateway to the services, found and not found, and a list.
            try await expectHeadLikeGet(port: gateway, "/rooms/\(room)", token: token)
            try await expectHeadLikeGet(port: gateway, "/rooms/999999", token: token)
            try await expectHeadLikeGet(port: gateway, "/rooms?size=5", token: token)
            try await expectHeadLikeGet(port: gateway, "/payments?guestId=1", token: token)
            try await expectHeadLikeGet(port: gateway, "/.well-known/jwks.json")
            try await expectHeadLikeGet(port: gateway, "/openapi.json")
            // HEAD needs what GET needs.
            let anonymous = try await raw("HEAD", port: gateway, "/rooms/\(room)")
            #expect(anonymous.status == 401 && anonymous.rest.isEmpty)
        }
    }

    @Test func knownPathWithAnotherMethodIs405WithAllow() async throws {
        try await HotelStack.run { hotel in
            let token = try await demoToken(hotel)
            let auth = [HTTP.bearer(token)]
            // Through the gateway (the route allows every method; the service decides).
            expect405(try await HTTP.request(.PUT, hotel.gateway + "/rooms/2", headers: auth), allow: "GET, HEAD, DELETE")
            expect405(try await HTTP.request(.PATCH, hotel.gateway + "/rooms", headers: auth), allow: "GET, HEAD, POST")
            let port = { (name: String) in "http://127.0.0.1:\(hotel.ports[name] ?? 0)" }
            expect405(try await HTTP.request(.PUT, hotel.gateway + "/books/1/cancel", headers: auth), allow: "POST")
            expect405(try await HTTP.request(.POST, hotel.gateway + "/mypages/1", headers: auth), allow: "GET, HEAD")
            expect405(try await HTTP.request(.DELETE, hotel.gateway + "/notifications", headers: auth), allow: "GET, HEAD")
            // Directly at the services and the token server.
            expect405(try await HTTP.request(.RAW(value: "QUERY"), hotel.gateway + "/rooms", headers: auth), allow: "GET, HEAD, POST")
            // The gateway's own paths.
            expect405(try await HTTP.request(.POST, hotel.gateway + "/openapi.json"), allow: "GET, HEAD")
            expect405(try await HTTP.request(.DELETE, hotel.gateway + "/health/live"), allow: "GET, HEAD")
            expect405(try await HTTP.request(.DELETE, port("payments") + "/payments/1"), allow: "GET, HEAD")
            // A literal segment wins over a capture, as in the router: /payments/void is not /payments/:id.
            expect405(try await HTTP.request(.GET, port("payments") + "/payments/void"), allow: "POST")
            expect405(try await HTTP.request(.PUT, port("payments") + "/payments"), allow: "GET, HEAD, POST")
            expect405(try await HTTP.request(.POST, port("books") + "/health/ready"), allow: "GET, HEAD")
            expect405(try await HTTP.request(.DELETE, hotel.authURL + "/.well-known/jwks.json"), allow: "GET, HEAD")
            expect405(try await HTTP.request(.OPTIONS, hotel.authURL + "/oauth/token"), allow: "POST")
            // An unknown path stays 404, and a served method still works.
            let unknown = try await HTTP.request(.PUT, hotel.gateway + "/rooms/2/paint", headers: auth)
            #expect(unknown.status == 404 && unknown.json["error"] as? String == "not_found", "\(unknown.text)")
            #expect(try await HTTP.request(.GET, hotel.gateway + "/rooms", headers: auth).status == 200)
        }
    }

    @Test func gatewayServesTheOpenAPIDocument() async throws {
        try await HotelStack.run { hotel in
            let response = try await HTTP.request(.GET, hotel.gateway + "/openapi.json")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.json["openapi"] as? String == "3.1.0")
            // Cacheable, and revalidated with its ETag: a match is 304 without a body.
            #expect(response.header("Cache-Control") == "public, max-age=300")
            let etag = try #require(response.header("ETag"))
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count > 2)
            for matching in [etag, "W/" + etag, "\"other\", " + etag, "\"a,b\",W/" + etag, "*"] {
                for head in [false, true] {
                    let url = hotel.gateway + "/openapi.json"
                    let again =
                        head
                        ? try await HTTP.request(.HEAD, url, headers: [("If-None-Match", matching)])
                        : try await HTTP.request(.GET, url, headers: [("If-None-Match", matching)])
                    #expect(again.status == 304, "HEAD \(head), If-None-Match: \(matching)")
                    #expect(again.body.isEmpty && again.header("ETag") == etag)
                    #expect(again.header("Cache-Control") == "public, max-age=300")
                    #expect(again.header("Content-Length") == nil, "a 304 says no length")
                }
            }
            // A tag is read quote to quote: a `*` or `,` inside one is not a wildcard or a separator.
            for stale in ["\"an-older-document\"", "\"a,*,b\"", "\"*\"", "*, \"x\"", "W/", "\"unterminated"] {
                let changed = try await HTTP.request(.GET, hotel.gateway + "/openapi.json", headers: [("If-None-Match", stale)])
                #expect(changed.status == 200 && changed.body == response.body, "If-None-Match: \(stale)")
            }
            let paths = try #require(response.json["paths"] as? [String: Any])
            for path in [
                "/oauth/token", "/rooms", "/rooms/{id}", "/books", "/books/{id}", "/books/{id}/cancel", "/payments", "/notifications", "/mypages",
            ] {
                #expect(paths[path] != nil, "\(path) is missing")
            }
            // The same bytes as `portier openapi` prints.
            let process = Process()
            process.executableURL = URL(fileURLWithPath: PortierBinary.path)
            process.arguments = ["openapi"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try ProcessLaunch.locked { try process.run() }
            let printed = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(Array(printed) == response.body + Array("\n".utf8), "printed \(printed.count) bytes, served \(response.body.count)")
        }
    }

    func demoToken(_ hotel: HotelStack) async throws -> String {
        let response = try await HTTP.form(
            hotel.gateway + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", hotel.demoSecret)])
        return try #require(response.json["access_token"] as? String, "\(response.text)")
    }
}
